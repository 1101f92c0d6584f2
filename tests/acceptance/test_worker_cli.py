"""`chronobridge worker` as an operator runs it: ready line, jobs, SIGTERM, and the
`worker failed | retry | sweep` commands."""

# The worker fixtures are imported here (no acceptance conftest of ours), so test parameters
# share their names: ruff's F811 does not apply.
# ruff: noqa: F811

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from chronobridge.store import KeyRing
from chronobridge.workers import WEBHOOKS, Database, Job, Jobs
from chronobridge.workers._tables import heartbeats
from chronobridge.workers.diagnostics import probe
from support.dbos_runtime import (  # noqa: F401  (fixtures are found by name)
    RUNNER,
    WorkerProcess,
    probe_attempts,
    probe_marks,
    status_of,
    sync_engine,
    wait_for,
    worker_cipher,
    worker_database,
    worker_db_kind,
    worker_key,
    worker_pg_template,
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


def _cli(database: Database, key: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CHRONOBRIDGE_HOME": str(home),
        "CHRONOBRIDGE_ENCRYPTION_KEYS": key,
        "CHRONOBRIDGE_DATABASE_URL": database.url.render_as_string(hide_password=False),
    }
    return subprocess.run(
        [sys.executable, "-c", RUNNER, "worker", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_worker_starts_runs_a_job_and_stops_on_sigterm(
    worker_database: Database, worker_key: str, tmp_path: Path, jobs: Jobs, engine: sa.Engine
) -> None:
    worker = WorkerProcess(worker_database, worker_key, tmp_path, executor_id="cli-1", args=[])
    ready = worker.wait_ready()
    assert "executor cli-1" in ready
    assert "queues sync,webhooks,deliveries" in ready
    assert worker_key not in ready
    workflow_id = jobs.enqueue(Job(queue=WEBHOOKS, workflow_id="probe:cli"), probe, "cli")
    wait_for(lambda: status_of(jobs.client, workflow_id) == "SUCCESS")
    code, out = worker.terminate()
    assert code == 0, worker.stderr()
    assert "chronobridge worker stopped" in out
    with engine.connect() as conn:
        stopped = conn.execute(
            sa.select(heartbeats.c.stopped).where(heartbeats.c.executor_id == "cli-1")
        ).scalar_one()
    assert stopped is True


def test_sigterm_lets_the_running_job_finish(
    worker_database: Database, worker_key: str, tmp_path: Path, jobs: Jobs, engine: sa.Engine
) -> None:
    worker = WorkerProcess(
        worker_database,
        worker_key,
        tmp_path,
        executor_id="cli-2",
        args=["--shutdown-timeout", "20"],
    )
    worker.wait_ready()
    workflow_id = jobs.enqueue(Job(queue=WEBHOOKS, workflow_id="probe:slow"), probe, "slow", 2.0)
    wait_for(lambda: probe_attempts(engine, "slow") == ["cli-2"])
    code, out = worker.terminate()
    assert code == 0, worker.stderr()
    assert "no new jobs" in out
    assert status_of(jobs.client, workflow_id) == "SUCCESS"
    assert probe_attempts(engine, "slow") == ["cli-2"]  # finished, not re-run
    assert probe_marks(engine) == {"slow": "cli-2"}


@pytest.mark.parametrize("worker_db_kind", ["sqlite"])
def test_failed_jobs_are_listed_retried_and_swept_from_the_command_line(
    worker_database: Database, worker_key: str, tmp_path: Path, jobs: Jobs, engine: sa.Engine
) -> None:
    worker = WorkerProcess(worker_database, worker_key, tmp_path, executor_id="cli-3", args=[])
    worker.wait_ready()
    workflow_id = jobs.enqueue(Job(queue=WEBHOOKS, workflow_id="probe:bad"), probe, "bad", 0, 1)
    wait_for(lambda: status_of(jobs.client, workflow_id) == "ERROR")

    listed = _cli(worker_database, worker_key, tmp_path, "failed")
    assert listed.returncode == 0, listed.stderr
    assert "probe:bad" in listed.stdout
    assert "ProbeFailed" in listed.stdout

    retried = _cli(worker_database, worker_key, tmp_path, "retry", workflow_id)
    assert retried.returncode == 0
    assert "retrying probe:bad" in retried.stdout
    wait_for(lambda: status_of(jobs.client, workflow_id) == "SUCCESS")
    assert probe_attempts(engine, "bad") == ["cli-3", "cli-3"]

    again = _cli(worker_database, worker_key, tmp_path, "retry", workflow_id)
    assert again.returncode == 1
    assert "has not failed" in again.stderr

    assert worker.terminate()[0] == 0
    swept = _cli(worker_database, worker_key, tmp_path, "sweep", "--dead-after", "0")
    assert swept.returncode == 0
    assert "dead workers: cli-3" in swept.stdout


def test_a_bad_key_is_a_clear_error(worker_database: Database, tmp_path: Path) -> None:
    done = _cli(worker_database, "not-a-fernet-key", tmp_path, "failed")
    assert done.returncode == 1
    assert "encryption key is not valid" in done.stderr
    assert "hint:" in done.stderr
    assert "not-a-fernet-key" not in done.stderr


def test_without_keys_the_hub_key_file_is_used(
    worker_database: Database, tmp_path: Path, jobs: Jobs
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CHRONOBRIDGE_ENCRYPTION_KEYS"}
    env |= {
        "CHRONOBRIDGE_HOME": str(tmp_path),
        "CHRONOBRIDGE_DATABASE_URL": worker_database.url.render_as_string(hide_password=False),
    }
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, "worker", "failed"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "keys").stat().st_mode & 0o077 == 0  # created, private to its owner
