"""The engine the sync jobs of this process use.

Workflows are module-level functions that DBOS calls with ids only, so the engine comes from a
factory installed once per process (`install(factory)`, by the composition root for `serve`,
`demo` and `chronobridge worker`); without one, the default is built from the environment
(`CHRONOBRIDGE_*`: the database, the keys, the app's active connection, the default mapping).

DBOS runs async workflows on its own event loop in its own thread, and async database
connections belong to the loop that opened them, so an engine is built per event loop on first
use there and never shared with another loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from chronobridge.connections import Clock, Services, offset_clock
from chronobridge.domain.mappings import CompiledMapping, default_mapping
from chronobridge.settings import Settings
from chronobridge.store import Database, open_database
from chronobridge.sync._clients import ConnectionClients
from chronobridge.sync._engine import SyncEngine
from chronobridge.sync._ingest import IngestHook
from chronobridge.sync._options import EngineOptions

__all__ = [
    "EngineFactory",
    "current_engine",
    "engine_from_settings",
    "fresh_engine",
    "install",
    "uninstall",
]

EngineFactory = Callable[[], Awaitable[SyncEngine]]

_factory: EngineFactory | None = None
_built: dict[asyncio.AbstractEventLoop, SyncEngine] = {}


def install(factory: EngineFactory | None) -> None:
    """How this process builds its sync engine (None: the default from the environment).

    The factory must build a new engine, with its own `Database`, each time it is called: once
    per event loop that runs sync jobs, and once per planner tick (which closes it)."""
    global _factory
    _factory = factory
    _built.clear()


def uninstall() -> None:
    install(None)


async def current_engine() -> SyncEngine:
    """The engine of the running event loop (built on first use there)."""
    loop = asyncio.get_running_loop()
    found = _built.get(loop)
    if found is None:
        found = await fresh_engine()
        _built[loop] = found
    return found


async def fresh_engine() -> SyncEngine:
    """A new engine with its own database engine (the caller closes `engine.db`)."""
    return await (_factory or engine_from_settings(Settings()))()


def engine_from_settings(
    settings: Settings,
    *,
    clock: Clock | None = None,
    mapping: CompiledMapping | None = None,
    options: EngineOptions | None = None,
    hooks: Callable[[Database], Sequence[IngestHook]] | None = None,
) -> EngineFactory:
    """A factory for the engine `serve` and `worker` run: the hub's database (not migrated
    again), connection services, the store-backed clients, the given or default mapping, and
    the ingest hooks built on that database."""

    async def build() -> SyncEngine:
        db = await open_database(settings, migrate=False)
        services = Services(db=db, clock=clock or offset_clock())
        return SyncEngine(
            db,
            ConnectionClients(services=services),
            mapping or default_mapping(),
            options=options,
            clock=services.clock,
            hooks=tuple(hooks(db)) if hooks else (),
        )

    return build
