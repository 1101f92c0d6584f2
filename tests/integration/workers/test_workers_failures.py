"""The error queue: failed jobs are listed without their data, and a retry finishes them once."""

from __future__ import annotations

import pytest

from chronobridge import errors
from chronobridge.workers import WEBHOOKS, Job, NotInErrorQueue, WorkerRuntime, step, workflow
from chronobridge.workers.diagnostics import probe
from support.dbos_runtime import probe_attempts, probe_marks, status_of, wait_for

CALLS: dict[str, int] = {}


@workflow("tests.workers.unreachable")
def unreachable(key: str) -> None:
    _call_drchrono(key)


@step(attempts=3, interval_sec=0.01, backoff=1.0)
def _call_drchrono(key: str) -> None:
    CALLS[key] = CALLS.get(key, 0) + 1
    raise errors.TransportError("DrChrono could not be reached.")


@workflow("tests.workers.missing")
def missing(key: str) -> None:
    _fetch(key)


@step(attempts=3, interval_sec=0.01)
def _fetch(key: str) -> None:
    CALLS[key] = CALLS.get(key, 0) + 1
    raise errors.NotFound(method="GET", path="/api/patients/{id}")


def test_a_failed_job_is_listed_and_a_retry_finishes_it_once(dbos_runtime: WorkerRuntime) -> None:
    client = dbos_runtime.jobs.client
    workflow_id = dbos_runtime.jobs.enqueue(
        Job(queue=WEBHOOKS, workflow_id="probe:poison"), probe, "poison", 0.0, 1
    )
    wait_for(lambda: status_of(client, workflow_id) == "ERROR")
    [failed] = [job for job in dbos_runtime.failed() if job.workflow_id == workflow_id]
    assert failed.workflow_name == "chronobridge.diagnostics.probe"
    assert failed.queue == WEBHOOKS
    assert failed.error_class == "chronobridge.workers.diagnostics.ProbeFailed"
    assert failed.error_message == "The probe failed on purpose (attempt 1)."
    assert not failed.retries_exhausted
    assert failed.attempts >= 1
    assert failed.created_at is not None
    assert failed.failed_at is not None
    assert failed.created_at <= failed.failed_at

    dbos_runtime.retry(workflow_id)
    wait_for(lambda: status_of(client, workflow_id) == "SUCCESS")
    assert probe_attempts(dbos_runtime.engine, "poison") == ["test-main", "test-main"]
    assert probe_marks(dbos_runtime.engine)["poison"] == "test-main"
    assert workflow_id not in {job.workflow_id for job in dbos_runtime.failed()}
    with pytest.raises(NotInErrorQueue):
        dbos_runtime.retry(workflow_id)


def test_retriable_errors_are_retried_then_dead_lettered(dbos_runtime: WorkerRuntime) -> None:
    key = f"unreachable-{dbos_runtime.config.database.url.get_backend_name()}"
    job = Job(queue=WEBHOOKS, workflow_id=f"unreachable:{key}")
    workflow_id = dbos_runtime.jobs.enqueue(job, unreachable, key)
    wait_for(lambda: status_of(dbos_runtime.jobs.client, workflow_id) == "ERROR")
    [failed] = [job for job in dbos_runtime.failed() if job.workflow_id == workflow_id]
    assert failed.error_class == "chronobridge.errors.TransportError"
    assert failed.retries_exhausted
    assert CALLS[key] == 3


def test_fatal_and_skippable_errors_are_not_retried(dbos_runtime: WorkerRuntime) -> None:
    key = f"missing-{dbos_runtime.config.database.url.get_backend_name()}"
    workflow_id = dbos_runtime.jobs.enqueue(
        Job(queue=WEBHOOKS, workflow_id=f"missing:{key}"), missing, key
    )
    wait_for(lambda: status_of(dbos_runtime.jobs.client, workflow_id) == "ERROR")
    [failed] = [job for job in dbos_runtime.failed() if job.workflow_id == workflow_id]
    assert failed.error_class == "chronobridge.errors.NotFound"
    assert failed.error_message == "DrChrono has no such object. (GET /api/patients/{id} -> 404)"
    assert CALLS[key] == 1


def test_retrying_an_unknown_job_is_refused(dbos_runtime: WorkerRuntime) -> None:
    with pytest.raises(NotInErrorQueue):
        dbos_runtime.retry("no-such-job")
