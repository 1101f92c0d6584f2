"""When `chronobridge serve` already listens on the redirect URI, it completes the authorization
(its /oauth/callback) and the CLI waits for the connection to appear in the store they share.

`hub_fingerprint` tells whether a serve shares this hub's database: a hash of the database URL
without its password, which serve shows at /oauth/hub. `wait_for_connection` watches the audit
log for the `connection.connect` row the callback writes after the connection is stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import time

from chronobridge.connections._services import Services
from chronobridge.errors import OAuthError
from chronobridge.store import App, AuditLog, Connection, Connections, normalize_url

__all__ = ["audit_mark", "hub_fingerprint", "wait_for_connection"]

POLL_SECONDS = 0.5


def hub_fingerprint(database_url: str) -> str:
    """Which database a hub uses, without revealing the URL (nor its password)."""
    shown = normalize_url(database_url).render_as_string(hide_password=True)
    return hashlib.sha256(f"chronobridge-hub:{shown}".encode()).hexdigest()[:24]


async def audit_mark(services: Services) -> int:
    """The newest audit row now: connections completed later have a higher number."""
    newest = await AuditLog(services.db).recent(limit=1)
    return newest[0].seq if newest else 0


async def wait_for_connection(
    services: Services, app: App, *, after: int, seconds: float, where: str
) -> Connection:
    """The connection of `app` authorized after audit row `after` (by serve's callback)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = await _connected_since(services, app, after)
        if found is not None:
            return found
        await asyncio.sleep(POLL_SECONDS)
    raise OAuthError(
        f"No authorization reached chronobridge serve at {where} within {seconds:.0f} s",
        hint="If the browser showed an error, follow it; then run chronobridge connect again "
        "(or pass --timeout with more seconds).",
    )


async def _connected_since(services: Services, app: App, after: int) -> Connection | None:
    rows = await AuditLog(services.db).recent(limit=50, target_type="connection")
    done = [
        r.target_id for r in sorted(rows, key=lambda r: r.seq)
        if r.seq > after and r.action == "connection.connect" and r.details.get("app_id") == app.id
        and r.target_id
    ]  # fmt: skip
    return await Connections(services.db).get(int(done[0])) if done else None
