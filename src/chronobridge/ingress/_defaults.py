"""The processing a process builds from its settings: its own database engine (one per event
loop, see `_context`), connection services and the sync engine's ingest path.

    install(processing_from_settings(settings, clock=clock))   # serve, chronobridge worker

Every delivery opens a client; they all share one HTTP connection pool (`SharedTransport`).
A client of its own would build a TLS context and open a connection per delivery: tens of
milliseconds each, the largest part of a webhook's processing on a busy machine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import httpx2

from chronobridge.connections import Clock, HubMetrics, Services, offset_clock
from chronobridge.domain.mappings import CompiledMapping, default_mapping
from chronobridge.ingress._apply import SyncApplier
from chronobridge.ingress._context import Factory, Processing
from chronobridge.settings import Settings
from chronobridge.store import Database, open_database
from chronobridge.sync import IngestHook

__all__ = ["SharedTransport", "default_processing", "processing_from_settings"]


def processing_from_settings(
    settings: Settings,
    *,
    clock: Clock | None = None,
    mapping: CompiledMapping | None = None,
    hooks: Callable[[Database], Sequence[IngestHook]] | None = None,
    attempts: int = 5,
    retry_seconds: float = 1.0,
    metrics: HubMetrics | None = None,
) -> Factory:
    """`metrics`: the process's hub metrics (the budget, the calls made), so that the webhook
    fetches count on the same /metrics as everything else; `hooks`: the ingest hooks to run,
    built on this processing's own database."""

    async def build() -> Processing:
        db = await open_database(settings, migrate=False)
        transport = SharedTransport()
        services = Services(
            db=db,
            clock=clock or offset_clock(),
            metrics=metrics or HubMetrics(),
            transport=transport,
        )
        applier = SyncApplier(
            services=services,
            mapping=mapping or default_mapping(),
            hooks=tuple(hooks(db)) if hooks else (),
        )
        return Processing(
            db=db,
            apply=applier,
            attempts=attempts,
            retry_seconds=retry_seconds,
            close=lambda: _close(db, transport),
        )

    return build


class SharedTransport(httpx2.AsyncBaseTransport):
    """One keep-alive connection pool for many clients: a client closing it (as every
    `async with` client does) leaves it open; the processing closes it at the end."""

    def __init__(self) -> None:
        self._pool = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return await self._pool.handle_async_request(request)

    async def aclose(self) -> None:
        """Clients come and go: the pool stays."""

    async def close(self) -> None:
        await self._pool.aclose()


async def _close(db: Database, transport: SharedTransport) -> None:
    try:
        await transport.close()
    finally:
        await db.close()


async def default_processing() -> Processing:
    return await processing_from_settings(Settings())()
