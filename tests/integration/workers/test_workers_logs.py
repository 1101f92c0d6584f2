"""DBOS's log lines never carry exception texts or workflow data."""

from __future__ import annotations

import logging

import pytest

from chronobridge.store import KeyRing
from chronobridge.workers import (
    WEBHOOKS,
    Database,
    Job,
    WorkerRuntime,
    step,
    workflow,
)
from chronobridge.workers._logs import redact_message
from support.dbos_runtime import start_runtime, status_of, wait_for

CANARY = "OTTER-CANARY-5512-JOHN-ROE"


@workflow("tests.workers.leaky")
async def leaky(text: str) -> None:
    await _leak(text)


@step(attempts=2, interval_sec=0.01)
async def _leak(text: str) -> None:
    # What a database driver's error can look like: the parameter value inside the text.
    raise ValueError(f"driver said: SELECT * FROM patients WHERE last_name = '{text}'")  # noqa: S608


@pytest.mark.parametrize(
    ("message", "logged"),
    [
        ("Executor ID: w-1", "Executor ID: w-1"),
        ("Recovering 2 workflows from application version 0.1.0", None),
        (
            "Error executing workflow webhook:9: name 'Jane' is not defined",
            "Error executing workflow webhook:9 [details redacted]",
        ),
        (
            "Exception in schedule 'poll': Traceback (most recent call last):\n  File 'x.py'",
            "Exception in schedule 'poll' [details redacted]",
        ),
        ("Executor ID: w-1\nJane Doe", "Executor ID [details redacted]"),
    ],
)
def test_messages_are_allow_listed(message: str, logged: str | None) -> None:
    assert redact_message(message) == (logged or message)


@pytest.mark.parametrize("worker_db_kind", ["sqlite"])
def test_step_errors_are_logged_by_class_only(
    dbos_runtime: WorkerRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="chronobridge.workers.dbos")
    job = Job(queue=WEBHOOKS, workflow_id="leaky:1")
    workflow_id = dbos_runtime.jobs.enqueue(job, leaky, CANARY)
    wait_for(lambda: status_of(dbos_runtime.jobs.client, workflow_id) == "ERROR")
    text = caplog.text
    assert "Step being automatically retried (attempt 1 of 2) (ValueError)" in text
    assert "(DBOSMaxStepRetriesExceeded)" in text
    assert CANARY not in text
    assert "SELECT" not in text
    assert all(record.exc_info is None for record in caplog.records)


@pytest.mark.parametrize("worker_db_kind", ["sqlite"])
def test_the_configured_level_holds_after_start(
    worker_database: Database, worker_cipher: KeyRing
) -> None:
    with start_runtime(worker_database, worker_cipher, log_level="INFO"):
        assert logging.getLogger("dbos").level == logging.INFO
