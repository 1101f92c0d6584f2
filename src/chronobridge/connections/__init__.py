"""Connections to DrChrono: the OAuth flow per user, tokens refreshed single-flight, the shared
rate budget wired into the client, deauthorization, the App Directory view and metrics.

    services = Services(db=db)                           # once per process (wiring does this)
    start = await start_authorization(services, app)     # state + PKCE S256 + explicit scope
    ...                                                  # the user consents at start.url
    connection = await complete_authorization(services, Callback.from_url(redirected_to))
    async with await open_client(services, connection) as client:
        async for patient in client.patients.list(): ...
    await deauthorize(services, connection.id, actor="cli")

See docs/connections.md. This package sits between the sync engine and the store and client:
it may use the client, the store, the domain, the catalog, the errors and the settings.
"""

from chronobridge.connections._apps import remove_app, update_app
from chronobridge.connections._budget import SharedBudget
from chronobridge.connections._calls import (
    CallTarget,
    call_all,
    call_once,
    parse_body,
    parse_pairs,
    resolve,
)
from chronobridge.connections._cleanup import (
    Cleanup,
    CleanupOutcome,
    CleanupQueue,
    HeldToken,
    IframeRemoval,
    audit_unconfirmed,
    finish_cleanup,
)
from chronobridge.connections._clients import (
    app_of,
    ensure_active,
    open_client,
    token_source,
    user_client,
)
from chronobridge.connections._deauthorize import Deauthorization, deauthorize
from chronobridge.connections._denied import explain_denied
from chronobridge.connections._directory import DirectoryEntry, app_directory
from chronobridge.connections._endpoint import Grant, TokenEndpoint
from chronobridge.connections._flow import (
    AuthorizationStart,
    Callback,
    authorize_url,
    callback_error,
    complete_authorization,
    start_authorization,
)
from chronobridge.connections._handoff import audit_mark, hub_fingerprint, wait_for_connection
from chronobridge.connections._hints import ENVIRONMENT_APP, from_environment, setting_hint
from chronobridge.connections._identity import fetch_identity, identity_from
from chronobridge.connections._iframes import register_iframe, unregister_iframe
from chronobridge.connections._metrics import HubMetrics, observe_budgets
from chronobridge.connections._observer import ApiLogObserver, Deferred, error_class
from chronobridge.connections._probe import Probe, probe_authorization
from chronobridge.connections._select import choose_app, choose_connection
from chronobridge.connections._services import Clock, Services, Sleep, WaitPolicy, offset_clock
from chronobridge.connections._tokens import REFRESH_SHARE, ConnectionTokens, gone

__all__ = [
    "ENVIRONMENT_APP",
    "REFRESH_SHARE",
    "ApiLogObserver",
    "AuthorizationStart",
    "CallTarget",
    "Callback",
    "Cleanup",
    "CleanupOutcome",
    "CleanupQueue",
    "Clock",
    "ConnectionTokens",
    "Deauthorization",
    "Deferred",
    "DirectoryEntry",
    "Grant",
    "HeldToken",
    "HubMetrics",
    "IframeRemoval",
    "Probe",
    "Services",
    "SharedBudget",
    "Sleep",
    "TokenEndpoint",
    "WaitPolicy",
    "app_directory",
    "app_of",
    "audit_mark",
    "audit_unconfirmed",
    "authorize_url",
    "call_all",
    "call_once",
    "callback_error",
    "choose_app",
    "choose_connection",
    "complete_authorization",
    "deauthorize",
    "ensure_active",
    "error_class",
    "explain_denied",
    "fetch_identity",
    "finish_cleanup",
    "from_environment",
    "gone",
    "hub_fingerprint",
    "identity_from",
    "observe_budgets",
    "offset_clock",
    "open_client",
    "parse_body",
    "parse_pairs",
    "probe_authorization",
    "register_iframe",
    "remove_app",
    "resolve",
    "setting_hint",
    "start_authorization",
    "token_source",
    "unregister_iframe",
    "update_app",
    "user_client",
    "wait_for_connection",
]
