"""The error queue of jobs: workflows that failed for good, and retrying one.

A job lands here when its workflow raised (status ERROR: a step exhausted its retries, or a
fatal error such as a mapping failure) or when it crashed its worker too many times (status
MAX_RECOVERY_ATTEMPTS_EXCEEDED, DBOS's poison-job guard). The listing shows ids, names, the
error class and times; the message only for chronobridge errors, whose messages carry no
patient data by contract. Retrying keeps the workflow id: steps that had finished are not run
again; the failed step and what follows it run once more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from dbos import DBOSClient, WorkflowStatus
from dbos import error as dbos_errors

from chronobridge.errors import Fatal, HubError
from chronobridge.workers._codec import RecordedError

ERROR = "ERROR"
MAX_RECOVERY = "MAX_RECOVERY_ATTEMPTS_EXCEEDED"
FAILED_STATUSES = (ERROR, MAX_RECOVERY)


class NotInErrorQueue(HubError, Fatal):
    """This job has not failed, so there is nothing to retry."""

    hint = "List failed jobs with chronobridge worker failed."


@dataclass(frozen=True, kw_only=True)
class FailedJob:
    workflow_id: str
    workflow_name: str
    queue: str | None
    status: str
    error_class: str
    error_message: str | None
    retries_exhausted: bool
    attempts: int
    executor_id: str | None
    created_at: datetime | None
    failed_at: datetime | None


def list_failed(
    client: DBOSClient, *, limit: int = 100, offset: int = 0, queue: str | None = None
) -> list[FailedJob]:
    """Newest first."""
    statuses = client.list_workflows(
        status=list(FAILED_STATUSES),
        queue_name=queue,
        limit=limit,
        offset=offset,
        sort_desc=True,
        load_input=False,
    )
    return [_failed_job(status) for status in statuses]


def retry_failed(client: DBOSClient, workflow_id: str) -> None:
    """Put a failed job back on its queue, under the same id."""
    found = client.list_workflows(workflow_ids=[workflow_id], load_input=False, load_output=False)
    if not found or found[0].status not in FAILED_STATUSES:
        raise NotInErrorQueue()
    status = found[0]
    if status.status == MAX_RECOVERY:
        client.resume_workflow(workflow_id, queue_name=status.queue_name)
        return
    client.rewind_workflow(
        workflow_id,
        start_step=_restart_step(client, workflow_id),
        queue_name=status.queue_name,
        queue_partition_key=status.queue_partition_key,
    )


def _restart_step(client: DBOSClient, workflow_id: str) -> int:
    """The failed step if the run ended in one, else the step after the last recorded one."""
    steps = client.list_workflow_steps(workflow_id)  # loads errors too
    if not steps:
        return 1
    last = max(steps, key=lambda step: step["function_id"])
    return last["function_id"] + (0 if last["error"] is not None else 1)


def _failed_job(status: WorkflowStatus) -> FailedJob:
    error = status.error
    exhausted = isinstance(error, dbos_errors.DBOSMaxStepRetriesExceeded)
    if isinstance(error, dbos_errors.DBOSMaxStepRetriesExceeded) and error.errors:
        error = error.errors[-1]
    return FailedJob(
        workflow_id=status.workflow_id,
        workflow_name=status.name,
        queue=status.queue_name,
        status=str(status.status),
        error_class=_class_name(error, status.status),
        error_message=str(error) if isinstance(error, HubError) else None,
        retries_exhausted=exhausted,
        attempts=status.recovery_attempts or 0,
        executor_id=status.executor_id,
        created_at=_time(status.created_at),
        failed_at=_time(status.completed_at or status.updated_at),
    )


def _class_name(error: object, status: str) -> str:
    if isinstance(error, RecordedError):
        return error.type_name
    if isinstance(error, BaseException):
        return f"{type(error).__module__}.{type(error).__qualname__}"
    return "dbos.MaxRecoveryAttemptsExceeded" if status == MAX_RECOVERY else "unknown"


def _time(epoch_ms: int | None) -> datetime | None:
    return None if epoch_ms is None else datetime.fromtimestamp(epoch_ms / 1000, UTC)
