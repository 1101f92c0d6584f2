"""What the processing job needs in this process: the store and the applier.

Workflows are module-level functions that DBOS calls with ids only, so their collaborators come
from a factory installed once per process (`install(factory)`, by `serve` and by the
composition root for `chronobridge worker`); without one, the default is built from the
environment (`CHRONOBRIDGE_*`).

DBOS runs async workflows on its own event loop, in its own thread, and async database
connections belong to the loop that opened them. So a `Processing` is built per event loop, on
first use there, and never shared with the web server's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Protocol

from chronobridge.ingress._routing import Route
from chronobridge.store import Database, StoredDelivery

__all__ = ["Applier", "Processing", "current", "install", "uninstall"]


class Applier(Protocol):
    """Apply one delivery the way the sync engine applies a polled record: fetch the current
    object (or mark it deleted) and upsert it; returns the number of new change events."""

    async def __call__(self, delivery: StoredDelivery, route: Route) -> int: ...


@dataclass(frozen=True, kw_only=True)
class Processing:
    db: Database
    apply: Applier
    attempts: int = 5
    """Tries of a delivery whose failures are retriable (WH-15: then `failed`)."""
    retry_seconds: float = 1.0
    """Wait before the second try; it doubles after each."""
    close: Callable[[], Coroutine[Any, Any, None]] | None = None


Factory = Callable[[], Awaitable[Processing]]

_factory: Factory | None = None
_built: dict[asyncio.AbstractEventLoop, Processing] = {}


def install(factory: Factory | None) -> None:
    """Set how this process builds its processing (None: the default from the environment)."""
    global _factory
    uninstall()
    _factory = factory


def uninstall() -> None:
    """Close what was built (on loops still running) and forget the factory."""
    global _factory
    _factory = None
    built = list(_built.items())
    _built.clear()
    for loop, processing in built:
        _close_on(loop, processing)


async def current() -> Processing:
    loop = asyncio.get_running_loop()
    found = _built.get(loop)
    if found is None:
        found = await _build()
        _built[loop] = found
    return found


async def _build() -> Processing:
    if _factory is not None:
        return await _factory()
    from chronobridge.ingress._defaults import default_processing

    return await default_processing()


def _close_on(loop: asyncio.AbstractEventLoop, processing: Processing) -> None:
    if processing.close is None or loop.is_closed() or not loop.is_running():
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        loop.create_task(processing.close())
        return
    future = asyncio.run_coroutine_threadsafe(processing.close(), loop)
    with contextlib.suppress(FutureTimeout, Exception):
        future.result(timeout=5)
