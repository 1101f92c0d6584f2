"""Real worker processes on real databases: kill -9, sharing a queue, sweeping orphans.

The test process only enqueues and reads (a `Jobs` client, no DBOS); the work happens in
`chronobridge worker` child processes. The diagnostic probe counts executions of its first step
(attempt rows) and marks each finished probe once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from chronobridge.store import KeyRing
from chronobridge.workers import WEBHOOKS, Database, Job, Jobs, job_id
from chronobridge.workers.diagnostics import probe
from support.dbos_runtime import (
    WorkerProcess,
    probe_attempts,
    probe_marks,
    status_of,
    sync_engine,
    wait_for,
    worker_processes,
)


@pytest.fixture
def jobs(worker_database: Database, worker_cipher: KeyRing) -> Iterator[Jobs]:
    client = Jobs(worker_database, worker_cipher)
    yield client
    client.close()


@pytest.fixture
def engine(worker_database: Database) -> Iterator[sa.Engine]:
    with sync_engine(worker_database) as engine:
        yield engine


def test_kill_9_mid_step_then_restart_finishes_exactly_once(
    worker_database: Database, worker_key: str, tmp_path: Path, jobs: Jobs, engine: sa.Engine
) -> None:
    worker = WorkerProcess(worker_database, worker_key, tmp_path, executor_id="w-crash", args=[])
    worker.wait_ready()
    workflow_id = jobs.enqueue(Job(queue=WEBHOOKS, workflow_id="probe:crash"), probe, "crash", 30)
    wait_for(lambda: probe_attempts(engine, "crash") == ["w-crash"])  # asleep inside its step
    worker.kill()
    assert status_of(jobs.client, workflow_id) == "PENDING"
    assert "crash" not in probe_marks(engine)

    with worker_processes(worker_database, worker_key, tmp_path, "w-crash", args=[]):
        wait_for(lambda: status_of(jobs.client, workflow_id) == "SUCCESS", timeout=30)
    assert probe_attempts(engine, "crash") == ["w-crash", "w-crash"]  # the step ran again
    assert probe_marks(engine) == {"crash": "w-crash"}  # and the job finished once


def test_two_workers_share_a_queue_and_run_each_job_once(
    worker_database: Database, worker_key: str, tmp_path: Path, jobs: Jobs, engine: sa.Engine
) -> None:
    keys = [f"share-{n}" for n in range(30)]
    with worker_processes(worker_database, worker_key, tmp_path, "w-a", "w-b", args=[]):
        ids = [
            jobs.enqueue(Job(queue=WEBHOOKS, workflow_id=job_id("probe", key)), probe, key, 0.1)
            for key in keys
        ]
        done = {"SUCCESS"}
        wait_for(lambda: {status_of(jobs.client, wid) for wid in ids} == done, timeout=60)
    executors = {key: probe_attempts(engine, key) for key in keys}
    assert all(len(ran) == 1 for ran in executors.values()), executors  # no job ran twice
    assert {ran[0] for ran in executors.values()} == {"w-a", "w-b"}  # both took work
    assert len(probe_marks(engine)) == len(keys)


def test_a_dead_workers_job_is_swept_to_a_live_one(
    worker_database: Database, worker_key: str, tmp_path: Path, jobs: Jobs, engine: sa.Engine
) -> None:
    doomed = WorkerProcess(worker_database, worker_key, tmp_path, executor_id="w-gone", args=[])
    doomed.wait_ready()
    workflow_id = jobs.enqueue(Job(queue=WEBHOOKS, workflow_id="probe:orphan"), probe, "orphan", 60)
    wait_for(lambda: probe_attempts(engine, "orphan") == ["w-gone"])
    doomed.kill()  # the machine is gone for good: w-gone never comes back

    rescuer_args = ["--dead-after", "1"]
    with worker_processes(worker_database, worker_key, tmp_path, "w-live", args=rescuer_args):
        wait_for(lambda: status_of(jobs.client, workflow_id) == "SUCCESS", timeout=30)
    assert probe_attempts(engine, "orphan") == ["w-gone", "w-live"]
    assert probe_marks(engine) == {"orphan": "w-live"}
