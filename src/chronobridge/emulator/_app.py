"""Assemble the emulator: state, seed, routes of every feature, stats, background tasks."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chronobridge.emulator import (
    _churn,
    _control,
    _directory,
    _iframes,
    _oauth,
    _persist,
    _rest,
    _seed,
    _state_file,
    _webhooks,
)
from chronobridge.emulator._clock import Clock
from chronobridge.emulator._config import EmulatorConfig
from chronobridge.emulator._records import RecordStore
from chronobridge.emulator._serialize import prerender
from chronobridge.emulator._state import EmulatorState


class Feature(Protocol):
    def routes(self, state: EmulatorState) -> list[BaseRoute]: ...

    def background(self, state: EmulatorState) -> list[Callable[[], Coroutine[Any, Any, None]]]: ...


# Order matters for routing: literal paths (/_emulator, /o) before the catalog's /api routes.
FEATURES: tuple[Feature, ...] = (
    _control,
    _state_file,
    _oauth,
    _directory,
    _webhooks,
    _iframes,
    _churn,
    _rest,
)


def build_state(config: EmulatorConfig, *, clock: Clock | None = None) -> EmulatorState:
    clock = clock or Clock()
    state = EmulatorState(
        config=config, clock=clock, records=RecordStore(clock, id_base=_seed.id_base)
    )
    # Features whose extensions a state file restores (webhooks, OAuth families) create them
    # first, so `_persist.load` finds objects with `restore()`.
    for feature in FEATURES:
        install = getattr(feature, "install", None)
        if install is not None:
            install(state)
    if not _persist.load(state):
        _seed.seed(state)
    prerender(state)
    _settle(state)
    return state


SETTLE_RECORDS = 5_000


def _settle(state: EmulatorState) -> None:
    """A large seed leaves hundreds of thousands of objects that live as long as the emulator.
    One full collection now makes them "long-lived" for CPython's collector, which then leaves
    them alone until a quarter as many again pile up; without it, that first full collection
    (0.1-0.2 s for 10,000 patients) lands in the middle of the first requests."""
    records = sum(len(state.records.table(name).order) for name in state.records.resources())
    if records >= SETTLE_RECORDS:
        gc.collect()


def create_app(
    config: EmulatorConfig | None = None, *, state: EmulatorState | None = None
) -> Starlette:
    state = state or build_state(config or EmulatorConfig())
    routes = [route for feature in FEATURES for route in feature.routes(state)]

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with _background(state):
            yield
        _state_file.state_file(state).save_blocking()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.emulator = state
    app.add_middleware(_StatsMiddleware, state=state)
    return app


@contextlib.asynccontextmanager
async def _background(state: EmulatorState) -> AsyncIterator[None]:
    import asyncio

    tasks = [
        asyncio.create_task(job()) for feature in FEATURES for job in feature.background(state)
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class _StatsMiddleware:
    """Counts every request per application, per catalog path and per status."""

    def __init__(self, app: ASGIApp, *, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            _state_file.note_request(self.state, scope["method"])
            path = scope["path"]
            if not path.startswith("/_emulator"):
                client_id = scope.get("state", {}).get("client_id")
                self.state.stats.record(
                    client_id=client_id, path=_template(scope["method"], path), status=status
                )


def _template(method: str, path: str) -> str:
    """The catalog path a request counts under (its own path when no operation serves it);
    a dictionary lookup, not a scan of the catalog, since every request pays for it."""
    resolved = _rest.resolve(path)
    op = resolved[0].get(method) if resolved else None
    return op.path if op else path
