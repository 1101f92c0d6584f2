"""The hub's web app: `create_app(ServeOptions(...))`, served by `chronobridge serve`.

The lifespan opens the database (migrating it), starts the embedded worker runtime (DBOS) unless
`worker` is None, or else a `Jobs` client that only enqueues (a stateless replica in front of
`chronobridge worker` processes), installs how this process applies webhook deliveries, and
starts the webhook receiver with its group-commit writer.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace

from fastapi import FastAPI

from chronobridge.connections import Services, hub_fingerprint
from chronobridge.ingress import (
    WORKFLOW_MODULES,
    Factory,
    SignatureMode,
    install,
    open_receiver,
    uninstall,
)
from chronobridge.store import Database, KeyRing, open_database
from chronobridge.web import _ops, _webhooks
from chronobridge.web._access import AccessLog
from chronobridge.web._state import WebState
from chronobridge.workers import Database as JobsDatabase
from chronobridge.workers import Jobs, WorkerConfig, WorkerRuntime

__all__ = ["MIB", "ServeOptions", "create_app"]

MIB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class ServeOptions:
    """How `serve` runs. `worker` None: enqueue only (no DBOS runtime in this process)."""

    database_url: str
    keys: KeyRing
    signature_mode: SignatureMode = SignatureMode.ANY
    max_body: int = MIB
    read_timeout: float = 10.0
    ack_timeout: float = 1.5
    default_client_id: str | None = None
    worker: WorkerConfig | None = None
    processing: Factory | None = None
    services: Callable[[Database], Services] | None = None
    metrics: Callable[[], str] | None = None
    sweep: bool = True
    writer_process: bool = False
    """Store webhook deliveries from a supervised process of their own (`serve` does): the
    writing then runs on another core, outside this process's GIL. Off: a thread of this
    process (no second interpreter to start: what tests and embedded uses want)."""
    freeze_gc: bool = False
    """After start-up, move every object alive into the collector's permanent generation
    (`gc.freeze()`): the modules' large object graph is then never scanned again, which
    takes a third of the CPU off each webhook under load. For server processes only."""


def create_app(options: ServeOptions) -> FastAPI:
    app = FastAPI(
        title="chronobridge",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=_lifespan(options),
    )
    app.router.routes.extend(_webhooks.routes())
    app.include_router(_ops.router)
    app.add_middleware(AccessLog)
    return app


def _lifespan(
    options: ServeOptions,
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = await open_database(options.database_url, keys=options.keys)
        try:
            async with (
                _jobs(options) as jobs,
                open_receiver(
                    db,
                    jobs,
                    database_url=options.database_url,
                    mode=options.signature_mode,
                    default_client_id=options.default_client_id,
                    ack_timeout=options.ack_timeout,
                    sweep=options.sweep,
                    writer_process=options.writer_process,
                ) as receiver,
            ):
                app.state.web = WebState(
                    db=db,
                    receiver=receiver,
                    max_body=options.max_body,
                    read_timeout=options.read_timeout,
                    worker=options.worker is not None,
                    services=options.services(db) if options.services is not None else None,
                    metrics=options.metrics,
                    hub=hub_fingerprint(options.database_url),
                )
                if options.freeze_gc:
                    gc.collect()
                    gc.freeze()
                yield
        finally:
            await db.close()

    return lifespan


@contextlib.asynccontextmanager
async def _jobs(options: ServeOptions) -> AsyncIterator[Jobs]:
    """The embedded worker's jobs client, or an enqueue-only client."""
    if options.worker is None:
        jobs = Jobs(JobsDatabase.parse(options.database_url), options.keys)
        try:
            await jobs.prepare_async()
            yield jobs
        finally:
            jobs.close()
        return
    modules = tuple(dict.fromkeys((*options.worker.workflow_modules, *WORKFLOW_MODULES)))
    runtime = WorkerRuntime(replace(options.worker, workflow_modules=modules))
    install(options.processing)
    await runtime.start_async()
    try:
        yield runtime.jobs
    finally:
        uninstall()
        await runtime.stop_async()
