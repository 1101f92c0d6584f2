"""Where the engine gets its DrChrono client: a lease on one connection of the app.

The engine asks a `ClientSource` for a client acting for an active connection of the app, at a
priority (BACKFILL for first syncs, POLL for the rest), and counts every call it makes through
a `CallCounter` it passes in (the run's `calls`). Two sources ship:

- `ConnectionClients` (production): the app's active connection from the store, with the
  store-backed token source (single-flight refresh), the shared budget and the API log of
  `chronobridge.connections`. A connection that needs reconnecting or was deauthorized is
  never used: `NeedsReconnect` stops the sync.
- `StaticClients` (tests, scripts, benchmarks): one token and base URL, in-memory budget.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

import httpx2

from chronobridge.client import (
    Budget,
    CallObserver,
    CallRecord,
    ClientOptions,
    DrChronoClient,
    MemoryBudget,
    MemoryTokenSource,
    TokenSource,
)
from chronobridge.connections import (
    ApiLogObserver,
    Services,
    SharedBudget,
    app_of,
    choose_connection,
    ensure_active,
    token_source,
)
from chronobridge.domain.budget import Priority
from chronobridge.errors import NeedsReconnect
from chronobridge.store import Connections, ConnectionStatus

__all__ = ["CallCounter", "ClientSource", "ConnectionClients", "Lease", "StaticClients"]


class CallCounter:
    """A CallObserver that counts the calls of one run."""

    def __init__(self) -> None:
        self.calls = 0

    async def observe(self, call: CallRecord) -> None:
        self.calls += 1


@dataclass(frozen=True, kw_only=True)
class Lease:
    client: DrChronoClient
    connection_id: int | None


class ClientSource(Protocol):
    def lease(
        self, app_id: int, *, priority: Priority, counter: CallCounter
    ) -> AbstractAsyncContextManager[Lease]:
        """A client for the app at `priority`, reporting every call to `counter`."""
        ...


@dataclass(frozen=True, kw_only=True)
class StaticClients:
    """One access token against one base URL (the emulator, a script)."""

    access_token: str = field(repr=False)
    base_url: str
    transport: httpx2.AsyncBaseTransport | None = None
    budget: Budget = field(default_factory=MemoryBudget)
    connection_id: int | None = None
    observer: CallObserver | None = None
    sleep: Callable[[float], Awaitable[None]] | None = None
    """How batch polls wait (tests pass one that does not)."""

    @asynccontextmanager
    async def lease(
        self, app_id: int, *, priority: Priority, counter: CallCounter
    ) -> AsyncIterator[Lease]:
        tokens: TokenSource = MemoryTokenSource(self.access_token)
        client = DrChronoClient(
            tokens=tokens,
            base_url=self.base_url,
            transport=self.transport,
            budget=self.budget,
            observer=_tee(counter, self.observer),
            options=ClientOptions(priority=priority),
            sleep=self.sleep,
        )
        async with client:
            yield Lease(client=client, connection_id=self.connection_id)


@dataclass(frozen=True, kw_only=True)
class ConnectionClients:
    """The app's active connection, with the store-backed ports (chronobridge.connections)."""

    services: Services

    @asynccontextmanager
    async def lease(
        self, app_id: int, *, priority: Priority, counter: CallCounter
    ) -> AsyncIterator[Lease]:
        services = self.services
        listed = await Connections(services.db).list(app_id=app_id)
        active = [c for c in listed if c.status is ConnectionStatus.ACTIVE]
        if not active:
            raise NeedsReconnect(
                f"App {app_id} has no active connection to sync with",
                hint="Run chronobridge connect (or reconnect the provider).",
            )
        connection = await ensure_active(services, choose_connection(active, None).id)
        app = await app_of(services, app_id)
        log = ApiLogObserver(
            services, app_id=app.id, app_name=app.name, connection_id=connection.id
        )
        client = DrChronoClient(
            tokens=token_source(services, app, connection),
            base_url=app.drchrono_url,
            transport=services.transport,
            budget=SharedBudget(services, app_id=app.id, app_name=app.name),
            observer=_tee(counter, log),
            options=ClientOptions(priority=priority, api_version=app.api_version or None),
            sleep=services.sleep,
            clock=services.clock,
        )
        async with client:
            yield Lease(client=client, connection_id=connection.id)


def _tee(counter: CallCounter, then: CallObserver | None) -> CallObserver:
    return counter if then is None else _Both(counter, then)


class _Both:
    def __init__(self, first: CallObserver, second: CallObserver) -> None:
        self._first, self._second = first, second

    async def observe(self, call: CallRecord) -> None:
        await self._first.observe(call)
        await self._second.observe(call)
