"""Clients for connections: the composition of the client with the store-backed ports.

`open_client` re-reads the connection first: a job holding an old `Connection` value must not
run for a connection that was deauthorized or needs reconnecting since (its jobs stop). The
token sources live in `Services.sources`, one per connection and process, so that every client
of the process shares its single-flight refresh.
"""

from __future__ import annotations

from chronobridge.client import ClientOptions, DrChronoClient, MemoryTokenSource, TokenSource
from chronobridge.connections._budget import SharedBudget
from chronobridge.connections._observer import ApiLogObserver
from chronobridge.connections._services import Services
from chronobridge.connections._tokens import ConnectionTokens, gone
from chronobridge.domain.budget import Priority
from chronobridge.errors import ConfigError, NeedsReconnect
from chronobridge.store import App, Apps, Connection, Connections, ConnectionStatus

__all__ = ["ensure_active", "open_client", "token_source", "user_client"]


async def ensure_active(services: Services, connection_id: int) -> Connection:
    """The connection as stored now; `NeedsReconnect` unless it is active (jobs call this)."""
    found = await Connections(services.db).get(connection_id)
    if found is None:
        raise NeedsReconnect(
            f"Connection {connection_id} no longer exists",
            hint="Run chronobridge connections list, then chronobridge connect.",
        )
    if found.status is not ConnectionStatus.ACTIVE:
        raise gone(found)
    return found


def token_source(services: Services, app: App, connection: Connection) -> ConnectionTokens:
    found = services.sources.get(connection.id)
    if found is None:
        observer = _observer(services, app, connection.id)
        found = ConnectionTokens(services, app, connection, observer=observer)
        services.sources[connection.id] = found
    return found


async def open_client(
    services: Services,
    connection: Connection | int,
    *,
    priority: Priority = Priority.INTERACTIVE,
) -> DrChronoClient:
    """A client acting as the connection's DrChrono user (close it: `async with`)."""
    cid = connection if isinstance(connection, int) else connection.id
    current = await ensure_active(services, cid)
    app = await app_of(services, current.app_id)
    await Connections(services.db).touch(current.id, now=services.now())  # "last used"
    return _client(services, app, token_source(services, app, current), current.id, priority)


def user_client(services: Services, app: App, access_token: str) -> DrChronoClient:
    """A client with a token not stored yet (the OAuth callback asks who the user is)."""
    return _client(services, app, MemoryTokenSource(access_token), None, Priority.INTERACTIVE)


async def app_of(services: Services, app_id: int) -> App:
    app = await Apps(services.db).get(app_id)
    if app is None:
        raise ConfigError(f"No application with id {app_id}.")
    return app


def _client(
    services: Services,
    app: App,
    tokens: TokenSource,
    connection_id: int | None,
    priority: Priority,
) -> DrChronoClient:
    return DrChronoClient(
        tokens=tokens,
        base_url=app.drchrono_url,
        transport=services.transport,
        budget=SharedBudget(
            services,
            app_id=app.id,
            app_name=app.name,
            limit=app.rate_limit,
            connection_id=connection_id,
        ),
        observer=_observer(services, app, connection_id),
        options=ClientOptions(priority=priority, api_version=app.api_version or None),
        sleep=services.sleep,
        clock=services.clock,
    )


def _observer(services: Services, app: App, connection_id: int | None) -> ApiLogObserver:
    return ApiLogObserver(services, app_id=app.id, app_name=app.name, connection_id=connection_id)
