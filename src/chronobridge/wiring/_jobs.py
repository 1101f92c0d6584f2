"""The durable jobs composed in one place: which workflows, queues and schedules a worker runs,
and what each job finds in its process (the sync engine, the webhook processing, the write-back
services), all with the same ingest hooks.

`chronobridge worker`, `chronobridge serve` (embedded worker) and `chronobridge demo` call
`worker_config` and `install_job_contexts`; nothing else decides these.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge import ingress, writeback
from chronobridge.client import DrChronoClient
from chronobridge.connections import Clock, HubMetrics, Services, offset_clock
from chronobridge.domain.budget import Priority
from chronobridge.domain.events import ChangeSource
from chronobridge.domain.mappings import CompiledMapping, default_mapping
from chronobridge.domain.timezones import TimeZones
from chronobridge.settings import Settings
from chronobridge.store import Database, KeyRing
from chronobridge.sync import IngestHook, engine_from_settings, ingest, install_engine
from chronobridge.sync import workflows as sync_jobs
from chronobridge.wiring._cleanup_jobs import (
    CLEANUP_QUEUE,
    CLEANUP_WORKFLOW_MODULE,
    install_cleanup,
)
from chronobridge.wiring._hub import Hub, clock_offset
from chronobridge.workers import (
    DEFAULT_QUEUES,
    Job,
    Jobs,
    Liveness,
    QueueSpec,
    WorkerConfig,
    with_concurrency,
)
from chronobridge.workers import Database as JobsDatabase

__all__ = [
    "QUEUES",
    "WORKFLOW_MODULES",
    "JobsEnqueuer",
    "hub_clock",
    "ingest_hooks",
    "install_job_contexts",
    "worker_config",
    "writeback_services",
]

WRITEBACK_QUEUE = QueueSpec(name=writeback.QUEUE, worker_concurrency=4)
QUEUES: tuple[QueueSpec, ...] = (*DEFAULT_QUEUES, WRITEBACK_QUEUE, CLEANUP_QUEUE)
WORKFLOW_MODULES: tuple[str, ...] = (
    sync_jobs.WORKFLOW_MODULE,
    *ingress.WORKFLOW_MODULES,
    *writeback.WORKFLOW_MODULES,
    CLEANUP_WORKFLOW_MODULE,  # deauthorizations DrChrono did not confirm at once
)


def ingest_hooks(db: Database) -> tuple[IngestHook, ...]:
    """What runs inside every ingest transaction, whoever ingests (poll, webhook, write-back):
    the patient match index, so duplicates are found however a patient arrives."""
    return (writeback.MatchIndexHook(db),)


def hub_clock() -> Clock:
    return offset_clock(clock_offset())


def worker_config(
    settings: Settings,
    *,
    keys: KeyRing,
    database_url: str | None = None,
    executor_id: str | None = None,
    concurrency: int | None = None,
    polling_interval: float = 1.0,
    planner: bool = True,
    liveness: Liveness | None = None,
    log_level: str = "WARNING",
    shutdown_timeout: int = 30,
) -> WorkerConfig:
    """Every workflow, queue and schedule of the hub, for one worker process."""
    return WorkerConfig(
        database=JobsDatabase.parse(database_url or settings.database),
        cipher=keys,
        executor_id=executor_id,
        home=settings.home,
        log_level=log_level,
        polling_interval_sec=polling_interval,
        queues=with_concurrency(QUEUES, concurrency),
        workflow_modules=WORKFLOW_MODULES,
        schedules=sync_jobs.schedules() if planner else (),
        liveness=liveness or Liveness(),
        shutdown_timeout_sec=shutdown_timeout,
    )


def install_job_contexts(
    settings: Settings,
    *,
    mapping: CompiledMapping | None = None,
    metrics: HubMetrics | None = None,
    clock: Clock | None = None,
) -> ingress.Factory:
    """Tell this process's jobs how to build what they use; returns the webhook processing
    factory (serve hands it to the web app, which installs it with its embedded worker)."""
    clock = clock or hub_clock()
    mapping = mapping or default_mapping()
    install_engine(engine_from_settings(settings, clock=clock, mapping=mapping, hooks=ingest_hooks))
    writeback.install(_writeback_provider(settings))
    install_cleanup(_services_provider(settings))
    processing = ingress.processing_from_settings(
        settings, clock=clock, mapping=mapping, hooks=ingest_hooks, metrics=metrics
    )
    ingress.install(processing)
    return processing


def _writeback_provider(
    settings: Settings,
) -> Callable[[], Awaitable[writeback.WritebackServices]]:
    stack = contextlib.AsyncExitStack()

    async def provider() -> writeback.WritebackServices:
        hub = await stack.enter_async_context(Hub.open(settings))
        return writeback_services(hub)

    return provider


def _services_provider(settings: Settings) -> Callable[[], Awaitable[Services]]:
    stack = contextlib.AsyncExitStack()

    async def provider() -> Services:
        return (await stack.enter_async_context(Hub.open(settings))).services

    return provider


def writeback_services(
    hub: Hub, *, enqueue: JobsEnqueuer | None = None, mapping: CompiledMapping | None = None
) -> writeback.WritebackServices:
    """The write-back services of an open hub: a client per connection, the sync core's ingest
    with the same hooks as every other ingest (source `writeback`), the mapping."""
    db, mapping = hub.db, mapping or default_mapping()
    hooks = ingest_hooks(db)

    @contextlib.asynccontextmanager
    async def clients(
        connection_id: int | None, priority: Priority
    ) -> AsyncIterator[DrChronoClient]:
        chosen = connection_id if connection_id is not None else (await hub.connection()).id
        async with await hub.client(chosen, priority=priority) as client:
            yield client

    async def writeback_ingest(
        *,
        app_id: int,
        connection_id: int | None,
        resource: str,
        records: Sequence[Mapping[str, Any]],
        timezones: TimeZones,
    ) -> None:
        await ingest(
            db, app_id=app_id, resource=resource, records=records,
            source=ChangeSource.WRITEBACK, connection_id=connection_id,
            timezones=timezones, mapping=mapping, hooks=hooks,
        )  # fmt: skip

    return writeback.WritebackServices(
        db=db, clients=clients, mapping=mapping, ingest=writeback_ingest, enqueue=enqueue,
        clock=hub.services.clock, sleep=hub.services.sleep,
    )  # fmt: skip


class JobsEnqueuer:
    """Enqueues write-back jobs with DBOS's client, inside the caller's transaction."""

    def __init__(self, settings: Settings, hub: Hub) -> None:
        self._url = settings.database
        self._keys = hub.db.keys
        self._jobs: Jobs | None = None

    async def prepare(self) -> None:
        if self._jobs is None:
            self._jobs = Jobs(JobsDatabase.parse(str(self._url)), self._keys)
            await self._jobs.prepare_async(QUEUES)

    async def __call__(
        self, tx: AsyncConnection, writeback_id: int, workflow_id: str, priority: Priority, /
    ) -> None:
        await self.prepare()
        assert self._jobs is not None
        order = 1 if priority is Priority.INTERACTIVE else 2
        job = Job(queue=writeback.QUEUE, workflow_id=workflow_id, priority=order)
        await self._jobs.enqueue_in_transaction(tx, job, writeback.run_writeback, writeback_id)

    def close(self) -> None:
        if self._jobs is not None:
            self._jobs.close()
