"""Every PostgreSQL test, DBOS workers included, runs on the one `postgres` fixture's server:
the machine's when it runs, otherwise a throwaway cluster the tests start themselves. The
slow test proves the fallback: with CHRONOBRIDGE_TEST_POSTGRES=throwaway (the machine's server
ignored) a DBOS worker job and a sync job still run, on a throwaway cluster."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.databases import PG_ENV, THROWAWAY, PostgresServer, configured_server

ROOT = Path(__file__).resolve().parents[3]

# A DBOS job end to end (queue, worker runtime, retry) and a sync job through DBOS, both on
# PostgreSQL, plus the check below, which says which server the session used.
SELECTION = (
    "tests/integration/sync/test_sync_postgres_fallback.py::"
    "test_the_session_server_is_the_one_asked_for",
    "tests/integration/workers/test_workers_failures.py::"
    "test_a_failed_job_is_listed_and_a_retry_finishes_it_once[postgres]",
    "tests/integration/sync/test_sync_workflows.py::"
    "test_a_queued_sync_job_backfills_a_resource[postgres]",
)


def test_the_session_server_is_the_one_asked_for(postgres: PostgresServer) -> None:
    asked = os.environ.get(PG_ENV) == THROWAWAY
    expect_throwaway = asked or not configured_server().accepts_connections()
    assert postgres.accepts_connections()
    assert postgres.throwaway is expect_throwaway
    if expect_throwaway:
        assert (postgres.host, postgres.port) != ("127.0.0.1", 5432)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_worker_tests_run_on_a_throwaway_cluster_when_told_to_ignore_the_machines() -> None:
    env = {**os.environ, PG_ENV: THROWAWAY}
    env.pop("PYTEST_XDIST_WORKER", None)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SELECTION]
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=840, check=False
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert summary.startswith(f"{len(SELECTION)} passed"), summary
    assert "skipped" not in summary
