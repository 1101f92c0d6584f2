"""The authorization-code flow: start (state + PKCE S256 + an explicit scope), and the callback
(state checked once, code exchanged once, identity from /api/users/current, connection stored).

`complete_authorization` is the one callback path: `chronobridge connect` calls it from its local
listener or its unattended probe, and the web app's /oauth/callback will call it too. The state
is consumed before anything else, so a forged or replayed callback costs no token request
(OA-1); PKCE is always sent (OA-2); `scope` is always present, because DrChrono grants every
scope when it is missing (OA-13).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

from chronobridge.catalog import SCOPES
from chronobridge.connections._budget import SharedBudget
from chronobridge.connections._clients import app_of
from chronobridge.connections._endpoint import Grant, TokenEndpoint
from chronobridge.connections._identity import fetch_identity
from chronobridge.connections._observer import ApiLogObserver
from chronobridge.connections._services import Services
from chronobridge.domain.budget import Priority
from chronobridge.errors import (
    AccessDenied,
    ConfigError,
    HubError,
    OAuthError,
    RateLimited,
    ServerError,
)
from chronobridge.store import (
    App,
    AuditEntry,
    AuditLog,
    AuthorizationRequest,
    Connection,
    Connections,
    Identity,
    OAuthStates,
)

__all__ = [
    "AuthorizationStart",
    "Callback",
    "authorize_url",
    "callback_error",
    "complete_authorization",
    "start_authorization",
]

AUTHORIZE_PATH = "/o/authorize/"
IDENTITY_SCOPE = "user:read"
_ERROR_CODE = re.compile(r"[a-z_]{1,40}")


@dataclass(frozen=True, kw_only=True)
class AuthorizationStart:
    """A started authorization: send the user to `url`; the callback comes to `redirect_uri`."""

    app: App
    request: AuthorizationRequest
    scopes: tuple[str, ...]
    url: str = field(repr=False)

    @property
    def redirect_uri(self) -> str:
        return self.request.redirect_uri


@dataclass(frozen=True, kw_only=True)
class Callback:
    """What DrChrono appended to the redirect URI."""

    state: str = field(repr=False)
    code: str | None = field(default=None, repr=False)
    error: str | None = None

    @classmethod
    def from_url(cls, url: str) -> Callback:
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items() if v}
        return cls(state=query.get("state", ""), code=query.get("code"), error=query.get("error"))


async def start_authorization(
    services: Services,
    app: App,
    *,
    scopes: tuple[str, ...] | None = None,
    redirect_uri: str | None = None,
    session_key: str | None = None,
) -> AuthorizationStart:
    chosen = _scopes(app, scopes)
    uri = redirect_uri or (app.redirect_uris[0] if app.redirect_uris else "")
    if uri not in app.redirect_uris:
        raise ConfigError(
            f"The redirect URI {uri or '(none)'} is not registered for application {app.name!r}",
            hint="Use one of the application's redirect URIs (chronobridge apps list).",
        )
    states = OAuthStates(services.db)
    await states.purge(now=services.now())  # used or expired states are kept one day only
    request = await states.create(
        app.id, redirect_uri=uri, session_key=session_key, now=services.now()
    )
    return AuthorizationStart(
        app=app, request=request, scopes=chosen, url=authorize_url(app, request, chosen)
    )


def authorize_url(app: App, request: AuthorizationRequest, scopes: tuple[str, ...]) -> str:
    query = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": request.redirect_uri,
        "scope": " ".join(scopes),
        "state": request.state,
        "code_challenge": request.code_challenge,
        "code_challenge_method": "S256",
    }
    return f"{app.drchrono_url.rstrip('/')}{AUTHORIZE_PATH}?{urlencode(query)}"


async def complete_authorization(
    services: Services, callback: Callback, *, session_key: str | None = None
) -> Connection:
    """The callback: consume the state, then exchange the code and store the connection."""
    verified = await OAuthStates(services.db).consume(
        callback.state, session_key=session_key, now=services.now()
    )
    if callback.error:
        raise callback_error(callback.error)
    if not callback.code:
        raise OAuthError(
            "DrChrono's answer carried no authorization code",
            hint="Run chronobridge connect again.",
        )
    app = await app_of(services, verified.app_id)
    grant = await _exchange(services, app, callback.code, verified.redirect_uri,
                            verified.code_verifier)  # fmt: skip
    identity = await _identity_or_revoke(services, app, grant)
    connection = await Connections(services.db).connect(
        app.id, identity, grant.pair, scopes=grant.scopes, now=services.now()
    )
    services.sources.pop(connection.id, None)  # a reconnect: forget the old token in memory
    await _audit(services, app, connection)
    return connection


def callback_error(code: str) -> OAuthError:
    """The error for `?error=` on the callback (the user pressed Cancel, a bad scope, ...)."""
    if code == "access_denied":
        return AccessDenied(
            "The DrChrono user declined to authorize the application",
            hint="Run chronobridge connect again and choose Authorize on DrChrono's page.",
        )
    if code == "invalid_scope":
        return OAuthError(
            "DrChrono refused the requested scopes",
            hint="Ask only for DrChrono's scopes (CHRONOBRIDGE_SCOPES or --scope), then connect.",
        )
    safe = code if _ERROR_CODE.fullmatch(code) else "an unknown error"
    return OAuthError(
        f"DrChrono refused the authorization ({safe})",
        hint="Check the application on DrChrono's API page, then run chronobridge connect.",
    )


# --- steps -------------------------------------------------------------------------------------


def _scopes(app: App, requested: tuple[str, ...] | None) -> tuple[str, ...]:
    """The scopes to ask for, in DrChrono's order, always with `user:read`: the callback must
    learn who connected (/api/users/current), and nothing works without knowing that."""
    wanted = set(requested or app.scopes)
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise ConfigError(
            f"Unknown DrChrono scope(s): {', '.join(unknown)}",
            hint="Use scopes from chronobridge actions list (e.g. patients:read).",
        )
    return tuple(scope for scope in SCOPES if scope in wanted | {IDENTITY_SCOPE})


async def _exchange(
    services: Services, app: App, code: str, redirect_uri: str, verifier: str
) -> Grant:
    budget = SharedBudget(services, app_id=app.id, app_name=app.name, limit=app.rate_limit)
    observer = ApiLogObserver(services, app_id=app.id, app_name=app.name, connection_id=None)
    await budget.reserve(Priority.INTERACTIVE)  # DrChrono counts /o/token/ in the hour too
    try:
        return await TokenEndpoint(services, app).exchange(
            code, redirect_uri=redirect_uri, code_verifier=verifier, observer=observer
        )
    except RateLimited as limited:
        await budget.park(services.now() + timedelta(seconds=limited.retry_after))
        raise


async def _identity_or_revoke(services: Services, app: App, grant: Grant) -> Identity:
    """Who connected; if that cannot be learned, the fresh tokens are revoked, not left live."""
    try:
        return await fetch_identity(services, app, grant.pair.access_token)
    except HubError as failure:
        endpoint = TokenEndpoint(services, app)
        with contextlib.suppress(HubError):  # best effort: the user must see the first failure
            await endpoint.revoke(grant.pair.refresh_token, hint="refresh_token", observer=None)
        if isinstance(failure, ServerError):
            raise ServerError(
                "DrChrono answered the request for the connecting user with a server error",
                method=failure.method, path=failure.path, status=failure.status,
                hint="DrChrono is having trouble; try chronobridge connect again in a few minutes.",
            ) from None  # fmt: skip
        raise


async def _audit(services: Services, app: App, connection: Connection) -> None:
    await AuditLog(services.db).append(
        AuditEntry(
            actor=f"drchrono-user:{connection.drchrono_user_id}",
            action="connection.connect",
            target_type="connection",
            target_id=str(connection.id),
            details={
                "app_id": app.id,
                "role": connection.role.value,
                "doctor_id": connection.doctor_id,
                "scopes": len(connection.scopes),
            },
        ),
        now=services.now(),
    )
