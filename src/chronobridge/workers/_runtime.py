"""The worker runtime: DBOS configured from explicit values, launched and stopped.

    runtime = WorkerRuntime(WorkerConfig(database=Database.parse(url), cipher=key_ring,
                                         home=home))
    runtime.start()                 # or: await runtime.start_async() in a FastAPI lifespan
    runtime.jobs.enqueue(Job(queue=WEBHOOKS, workflow_id=job_id("webhook", d)), process, d)
    runtime.stop()                  # stop claiming; in-flight jobs get shutdown_timeout_sec

One runtime per process (DBOS is a process-wide singleton). Starting it: creates the worker
tables, writes this executor's heartbeat, launches DBOS (which recovers this executor's PENDING
workflows), registers the queues and schedules, and starts the heartbeat/sweeper thread.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import sqlalchemy as sa
from dbos import DBOS, DBOSConfig

from chronobridge import __version__
from chronobridge.errors import ConfigError
from chronobridge.workers import _logs, registry
from chronobridge.workers._crypto import Cipher, EncryptingSerializer
from chronobridge.workers._database import DBOS_SCHEMA, Database
from chronobridge.workers._failures import FailedJob, list_failed, retry_failed
from chronobridge.workers._identity import ExecutorIdentity, resolve_executor_id
from chronobridge.workers._jobs import APP_NAME, Jobs
from chronobridge.workers._liveness import Liveness, LivenessThread, beat, mark_stopped, sweep
from chronobridge.workers._liveness import SweepResult as SweepResult
from chronobridge.workers._queues import DEFAULT_QUEUES, QueueSpec, register_queues
from chronobridge.workers._schedules import Schedule, apply_schedules
from chronobridge.workers._tables import create_tables

log = logging.getLogger("chronobridge.workers")
_current: WorkerRuntime | None = None


@dataclass(frozen=True, kw_only=True)
class WorkerConfig:
    """Everything the runtime needs, passed explicitly (wiring reads the settings).

    `executor_id` None takes a host slot under `home` (see `_identity`). `polling_interval_sec`
    is how often each queue is polled (the latency of a hop). `shutdown_timeout_sec` is how
    long `stop()` lets in-flight jobs finish; what is left is recovered by this executor's next
    start or swept by a peer.
    """

    database: Database
    cipher: Cipher
    executor_id: str | None = None
    home: Path | None = None
    application_version: str = __version__
    log_level: str = "WARNING"
    polling_interval_sec: float = 1.0
    scheduler_polling_interval_sec: float = 30.0
    queues: tuple[QueueSpec, ...] = DEFAULT_QUEUES
    schedules: tuple[Schedule, ...] = ()
    workflow_modules: tuple[str, ...] = ()
    liveness: Liveness = field(default_factory=Liveness)
    shutdown_timeout_sec: int = 30


def current_runtime() -> WorkerRuntime:
    """The runtime started in this process (for steps that need its engine)."""
    if _current is None:
        raise ConfigError("No worker runtime is running in this process.")
    return _current


class WorkerRuntime:
    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self._identity: ExecutorIdentity | None = None
        self._engine: sa.Engine | None = None
        self._jobs: Jobs | None = None
        self._liveness: LivenessThread | None = None

    @property
    def executor_id(self) -> str:
        return self._started()[0].executor_id

    @property
    def engine(self) -> sa.Engine:
        """A sync engine on the shared database (for the runtime's own tables and probes)."""
        return self._started()[1]

    @property
    def jobs(self) -> Jobs:
        return self._started()[2]

    def _started(self) -> tuple[ExecutorIdentity, sa.Engine, Jobs]:
        if self._identity is None or self._engine is None or self._jobs is None:
            raise ConfigError("The worker runtime is not started.")
        return self._identity, self._engine, self._jobs

    def start(self) -> None:
        global _current
        if _current is not None:
            raise ConfigError("A worker runtime is already running in this process.")
        registry.load_workflows(self.config.workflow_modules)
        _logs.install(self.config.log_level)
        identity = self._claim_identity()
        try:
            self._engine = self._prepare_database(identity.executor_id)
            self._launch(identity.executor_id)
        except BaseException:
            self._release(identity)
            raise
        self._identity = identity
        self._jobs = Jobs(self.config.database, self.config.cipher)
        self._liveness = LivenessThread(
            self._engine,
            self._jobs.client,
            executor_id=identity.executor_id,
            app_version=self.config.application_version,
            liveness=self.config.liveness,
        )
        self._liveness.start()
        _current = self
        log.info("Worker runtime started as executor %s", identity.executor_id)

    def _claim_identity(self) -> ExecutorIdentity:
        if self.config.executor_id is None and self.config.home is None:
            raise ConfigError("Give the worker an executor id, or a home folder to keep one in.")
        return resolve_executor_id(self.config.executor_id, home=self.config.home or Path("."))

    def _prepare_database(self, executor_id: str) -> sa.Engine:
        engine = self.config.database.create_sync_engine()
        self.config.database.prepare(engine)
        create_tables(engine)
        beat(engine, executor_id, app_version=self.config.application_version, starting=True)
        return engine

    def _launch(self, executor_id: str) -> None:
        self._create_system_tables()
        DBOS(config=self._dbos_config(executor_id))
        try:
            DBOS.launch()
            register_queues(
                self.config.queues, polling_interval_sec=self.config.polling_interval_sec
            )
            apply_schedules(self.config.schedules)
        except BaseException:
            DBOS.destroy(destroy_registry=False)
            raise

    def _create_system_tables(self) -> None:
        """Before launch: DBOS's queue thread lists queues at launch and then once a second, so
        queues that exist beforehand are served at once instead of up to a second later."""
        jobs = Jobs(self.config.database, self.config.cipher)
        try:
            jobs.prepare(self.config.queues, polling_interval_sec=self.config.polling_interval_sec)
        finally:
            jobs.close()

    def _dbos_config(self, executor_id: str) -> DBOSConfig:
        config: DBOSConfig = {
            "name": APP_NAME,
            "system_database_url": self.config.database.dbos_url,
            "application_version": self.config.application_version,
            "executor_id": executor_id,
            "log_level": self.config.log_level,
            "serializer": EncryptingSerializer(self.config.cipher),
            "scheduler_polling_interval_sec": self.config.scheduler_polling_interval_sec,
            "notification_listener_polling_interval_sec": self.config.polling_interval_sec,
        }
        if not self.config.database.is_sqlite:
            config["dbos_system_schema"] = DBOS_SCHEMA
        return config

    def stop(self, *, timeout_sec: int | None = None) -> None:
        """Stop claiming jobs, let in-flight ones finish (up to the timeout), then let go."""
        global _current
        if self._identity is None:
            return
        if self._liveness is not None:
            self._liveness.stop()
        timeout = self.config.shutdown_timeout_sec if timeout_sec is None else timeout_sec
        DBOS.destroy(destroy_registry=False, workflow_completion_timeout_sec=timeout)
        self._mark_stopped()
        if self._jobs is not None:
            self._jobs.close()
        self._release(self._identity)
        self._identity, self._jobs, self._liveness = None, None, None
        _current = None
        log.info("Worker runtime stopped")

    def _mark_stopped(self) -> None:
        if self._engine is None or self._identity is None:
            return
        try:
            mark_stopped(self._engine, self._identity.executor_id)
        except sa.exc.SQLAlchemyError as error:
            log.warning("Could not record the worker stop (%s)", type(error).__name__)

    def _release(self, identity: ExecutorIdentity) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        identity.release()

    async def start_async(self) -> None:
        """For async callers (FastAPI lifespan): DBOS's launch is blocking, so it runs in a
        thread; DBOS then runs async workflows on its own event loop."""
        await asyncio.to_thread(self.start)

    async def stop_async(self, *, timeout_sec: int | None = None) -> None:
        await asyncio.to_thread(lambda: self.stop(timeout_sec=timeout_sec))

    def __enter__(self) -> WorkerRuntime:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> WorkerRuntime:
        """`async with runtime:` in a FastAPI lifespan."""
        await self.start_async()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop_async()

    def sweep(self) -> SweepResult:
        """Sweep orphans now (the liveness thread also does it periodically)."""
        return sweep(
            self.engine,
            self.jobs.client,
            dead_after_sec=self.config.liveness.dead_after_sec,
            exclude=self.executor_id,
        )

    def failed(self, *, limit: int = 100, offset: int = 0) -> list[FailedJob]:
        return list_failed(self.jobs.client, limit=limit, offset=offset)

    def retry(self, workflow_id: str) -> None:
        retry_failed(self.jobs.client, workflow_id)
