"""Putting jobs on queues: from any process, and inside the caller's own transaction.

`Jobs` talks to the database only (a DBOSClient): the web process, a worker, or a CLI command
can enqueue without running DBOS. Every job has a deterministic workflow id, so enqueueing the
same job twice is one job (the second call returns the first's id). Inputs are encrypted by
the same serializer the workers use; ids, queue names and partition keys are stored in plain
text, so they must never carry patient data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec

import sqlalchemy as sa
from dbos import DBOS, DBOSClient, EnqueueOptions, WorkflowHandle
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

from chronobridge.workers import _logs
from chronobridge.workers._crypto import Cipher, EncryptingSerializer
from chronobridge.workers._database import DBOS_SCHEMA, Database
from chronobridge.workers._queues import DEFAULT_QUEUES, QueueSpec, create_missing_queues

P = ParamSpec("P")
APP_NAME = "chronobridge"


@dataclass(frozen=True, kw_only=True)
class Job:
    """Where and under which id a workflow runs.

    `partition_key` is required on partitioned queues (`sync`: the connection id).
    `delay_seconds` holds the job back; `priority` 1 runs before 2 (0, the default, first).
    """

    queue: str
    workflow_id: str
    partition_key: str | None = None
    delay_seconds: float | None = None
    priority: int | None = None


def job_id(kind: str, *parts: str | int) -> str:
    """A deterministic workflow id, e.g. `job_id("webhook", delivery_id)` -> "webhook:<id>"."""
    texts = [str(part) for part in parts]
    if not kind or any(not text or ":" in text for text in texts):
        raise ValueError("job id parts must be non-empty and free of ':'")
    return ":".join([kind, *texts])


def workflow_name(workflow: Callable[..., Any]) -> str:
    """The name DBOS registered `workflow` under."""
    name = getattr(workflow, "dbos_function_name", None)
    if not isinstance(name, str):
        raise TypeError(f"{workflow!r} is not a registered DBOS workflow")
    return name


def _options(job: Job, workflow: Callable[..., Any]) -> EnqueueOptions:
    options: EnqueueOptions = {
        "queue_name": job.queue,
        "workflow_name": workflow_name(workflow),
        "workflow_id": job.workflow_id,
    }
    if job.partition_key is not None:
        options["queue_partition_key"] = job.partition_key
    if job.delay_seconds is not None:
        options["delay_seconds"] = job.delay_seconds
    if job.priority is not None:
        options["priority"] = job.priority
    return options


class Jobs:
    """Enqueue workflows by function, with typed arguments."""

    def __init__(self, database: Database, cipher: Cipher) -> None:
        _logs.install()
        self.database = database
        self.serializer = EncryptingSerializer(cipher)
        self.client = DBOSClient(
            **database.dbos_settings(),
            serializer=self.serializer,
            application_name=APP_NAME,
            lazy=True,
        )

    def prepare(
        self, queues: tuple[QueueSpec, ...] = DEFAULT_QUEUES, *, polling_interval_sec: float = 1.0
    ) -> None:
        """Create or migrate DBOS's tables and create missing queues. Idempotent; for a process
        that may enqueue before any worker ever started (a fresh `serve` replica)."""
        DBOS.migrate(self.database.dbos_url, schema=DBOS_SCHEMA)
        create_missing_queues(self.client, queues, polling_interval_sec)

    async def prepare_async(self, queues: tuple[QueueSpec, ...] = DEFAULT_QUEUES) -> None:
        await asyncio.to_thread(self.prepare, queues)

    def enqueue(
        self, job: Job, workflow: Callable[P, Any], /, *args: P.args, **kwargs: P.kwargs
    ) -> str:
        """Enqueue in its own transaction; returns the workflow id (sync code)."""
        return self.client.enqueue(_options(job, workflow), *args, **kwargs).get_workflow_id()

    async def enqueue_async(
        self, job: Job, workflow: Callable[P, Any], /, *args: P.args, **kwargs: P.kwargs
    ) -> str:
        options = _options(job, workflow)
        return await asyncio.to_thread(
            lambda: self.client.enqueue(options, *args, **kwargs).get_workflow_id()
        )

    async def enqueue_in_transaction(
        self,
        conn: AsyncConnection | AsyncSession,
        job: Job,
        workflow: Callable[P, Any],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> str:
        """Enqueue inside the caller's open transaction on the shared database.

        The job exists only if that transaction commits; a rollback leaves no job.
        """
        options = _options(job, workflow)

        def insert(sync_conn: sa.Connection | Session) -> str:
            return self._insert(sync_conn, options, args, kwargs)

        return await conn.run_sync(insert)

    def enqueue_in_sync_transaction(
        self,
        conn: sa.Connection | Session,
        job: Job,
        workflow: Callable[P, Any],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> str:
        return self._insert(conn, _options(job, workflow), args, kwargs)

    def _insert(
        self,
        conn: sa.Connection | Session,
        options: EnqueueOptions,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> str:
        handle: WorkflowHandle[Any] = self.client.enqueue_in_transaction(
            conn, options, *args, **kwargs
        )
        return handle.get_workflow_id()

    def close(self) -> None:
        self.client.destroy()
