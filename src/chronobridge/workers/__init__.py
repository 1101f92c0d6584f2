"""Durable jobs and schedules on DBOS Transact (see docs/workers.md).

Runtime: `WorkerRuntime(WorkerConfig(...))` with `start()`/`stop()` (or `start_async()`,
`stop_async()`, `with`). Enqueue from anywhere: `Jobs(database, cipher)` or `runtime.jobs`,
`enqueue`, `enqueue_async`, `enqueue_in_transaction(async_conn, Job(...), workflow, *args)`.
Declare with `@workflow("stable.name")` and `@step()`; list the module in `registry`.
"""

from __future__ import annotations

from chronobridge.workers._codec import RecordedError
from chronobridge.workers._crypto import Cipher, EncryptingSerializer
from chronobridge.workers._database import DBOS_SCHEMA, DBOS_SQLITE_TABLES, Database
from chronobridge.workers._define import step, workflow
from chronobridge.workers._failures import FailedJob, NotInErrorQueue, list_failed, retry_failed
from chronobridge.workers._identity import ENV_EXECUTOR_ID, resolve_executor_id
from chronobridge.workers._jobs import Job, Jobs, job_id, workflow_name
from chronobridge.workers._liveness import Liveness, SweepResult, dead_executors, sweep
from chronobridge.workers._queues import (
    DEFAULT_QUEUES,
    DELIVERIES,
    SYNC,
    WEBHOOKS,
    QueueSpec,
    with_concurrency,
)
from chronobridge.workers._runtime import WorkerConfig, WorkerRuntime, current_runtime
from chronobridge.workers._schedules import Schedule, apply_schedules, every, remove_schedule

__all__ = [
    "DBOS_SCHEMA",
    "DBOS_SQLITE_TABLES",
    "DEFAULT_QUEUES",
    "DELIVERIES",
    "ENV_EXECUTOR_ID",
    "SYNC",
    "WEBHOOKS",
    "Cipher",
    "Database",
    "EncryptingSerializer",
    "FailedJob",
    "Job",
    "Jobs",
    "Liveness",
    "NotInErrorQueue",
    "QueueSpec",
    "RecordedError",
    "Schedule",
    "SweepResult",
    "WorkerConfig",
    "WorkerRuntime",
    "apply_schedules",
    "current_runtime",
    "dead_executors",
    "every",
    "job_id",
    "list_failed",
    "remove_schedule",
    "resolve_executor_id",
    "retry_failed",
    "step",
    "sweep",
    "with_concurrency",
    "workflow",
    "workflow_name",
]
