"""DBOS for tests: a launched worker runtime, fresh databases, and worker processes.

Fixtures (import them into a conftest: `from support.dbos_runtime import dbos_runtime, ...`):

- `worker_db_kind`: "sqlite" or "postgres" (parametrized; the PostgreSQL case is marked
  `postgres`). Narrow it with `@pytest.mark.parametrize("worker_db_kind", ["sqlite"])`.
- `worker_database`: a `chronobridge.workers.Database` on a fresh database of that kind
  (a SQLite file in tmp_path, or a PostgreSQL database dropped afterwards, on the server the
  `postgres` fixture of tests/support/databases.py yields: the machine's, or a throwaway
  cluster when none runs; never a fixed address).
- `worker_key` / `worker_cipher`: a fresh key, and a `KeyRing` over it (give the
  key to worker processes so they read what the test process wrote).
- `dbos_runtime`: a started `WorkerRuntime` on `worker_database` (executor "test-main"), tuned
  for tests (50 ms polling, fast heartbeats, no shutdown wait), stopped after the test. DBOS is
  a process-wide singleton, so a test uses at most one; pytest-xdist runs each worker process's
  tests one at a time, so this is safe under `-n`.

Helpers: `start_runtime(...)` for tests that restart a runtime themselves; `WorkerProcess` /
`worker_processes(...)` run `chronobridge worker` in child processes; `wait_for(...)` polls a
condition; `probe_attempts` / `probe_marks` / `status_of` read what the diagnostic probe left.

Workflows a test defines at module level (with `chronobridge.workers.workflow`) are registered
when pytest imports the module, so the in-process runtime runs them; worker *processes* only
know the modules in `chronobridge.workers.registry`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dbos import DBOSClient
from psycopg import sql

from chronobridge.store import KeyRing
from chronobridge.workers import (
    Database,
    Jobs,
    Liveness,
    WorkerConfig,
    WorkerRuntime,
)
from chronobridge.workers import _tables as tables
from support.databases import PostgresServer

FAST_LIVENESS = Liveness(heartbeat_interval_sec=0.2, dead_after_sec=2.0, sweep_interval_sec=0.5)

# Runs the worker CLI whether or not cli/__init__.py has wired the command in yet.
RUNNER = """
import sys, typer
from chronobridge.cli import _worker
app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
_worker.register(app)
app(sys.argv[1:])
"""


def _unique_name(prefix: str) -> str:
    return f"{prefix}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:10]}"


@contextlib.contextmanager
def postgres_database(server: PostgresServer, template: str | None = None) -> Iterator[Database]:
    """A fresh database on `server` (a copy of `template`), dropped afterwards."""
    name = _unique_name("cbw")
    server.create_database(name, template=template)
    # Test data need not survive a power cut: skip waiting for the WAL flush on commit.
    server.execute(
        sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(sql.Identifier(name))
    )
    try:
        yield Database.parse(server.url(name))
    finally:
        server.drop_database(name)


@pytest.fixture(scope="session")
def worker_pg_template(postgres: PostgresServer) -> Iterator[str]:
    """A database with DBOS's tables, the worker tables and the queues, cloned per test
    (CREATE DATABASE … TEMPLATE takes ~0.1 s; migrating DBOS takes ~1 s). It lives on the
    session's `postgres` server: the machine's, or the throwaway cluster started without one."""
    with postgres_database(postgres) as database:
        with sync_engine(database):
            pass
        jobs = Jobs(database, KeyRing([KeyRing.new_key()]))
        try:
            jobs.prepare(polling_interval_sec=0.05)
        finally:
            jobs.close()
        yield database.url.database or ""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def worker_db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def worker_database(
    worker_db_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Database]:
    if worker_db_kind == "sqlite":
        yield Database.parse(f"sqlite+aiosqlite:///{tmp_path / 'hub.sqlite'}")
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    template = request.getfixturevalue("worker_pg_template")
    with postgres_database(server, template) as database:
        yield database


@pytest.fixture
def worker_key() -> str:
    return KeyRing.new_key()


@pytest.fixture
def worker_cipher(worker_key: str) -> KeyRing:
    return KeyRing([worker_key])


def runtime_config(database: Database, cipher: KeyRing, **overrides: Any) -> WorkerConfig:
    base = WorkerConfig(
        database=database,
        cipher=cipher,
        executor_id="test-main",
        polling_interval_sec=0.05,
        scheduler_polling_interval_sec=0.5,
        liveness=FAST_LIVENESS,
        shutdown_timeout_sec=0,
    )
    return replace(base, **overrides)


@contextlib.contextmanager
def start_runtime(database: Database, cipher: KeyRing, **overrides: Any) -> Iterator[WorkerRuntime]:
    runtime = WorkerRuntime(runtime_config(database, cipher, **overrides))
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.stop()


@pytest.fixture
def dbos_runtime(worker_database: Database, worker_cipher: KeyRing) -> Iterator[WorkerRuntime]:
    with start_runtime(worker_database, worker_cipher) as runtime:
        yield runtime


def wait_for(condition: Callable[[], Any], *, timeout: float = 20.0, every: float = 0.05) -> Any:
    """Poll until `condition()` is truthy; return its value, or fail the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"condition not met within {timeout} s")


class WorkerProcess:
    """`chronobridge worker` in a child process (stdout captured, keys in the environment)."""

    def __init__(
        self, database: Database, cipher_key: str, home: Path, *, executor_id: str, args: list[str]
    ) -> None:
        self.executor_id = executor_id
        env = {
            **os.environ,
            "CHRONOBRIDGE_HOME": str(home),
            "CHRONOBRIDGE_ENCRYPTION_KEYS": cipher_key,
            "CHRONOBRIDGE_DATABASE_URL": database.url.render_as_string(hide_password=False),
        }
        command = [sys.executable, "-c", RUNNER, "worker", "--executor-id", executor_id]
        command += ["--polling-interval", "0.1", "--heartbeat-interval", "0.2", *args]
        self.log = home / f"worker-{executor_id}.log"
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE, stderr=log, text=True
            )

    def wait_ready(self, timeout: float = 30.0) -> str:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.startswith("chronobridge worker ready"):
                return line
            if not line and self.process.poll() is not None:
                break
        self.kill()
        pytest.fail(f"worker {self.executor_id} did not start: {self.stderr()}")

    def terminate(self, timeout: float = 30.0) -> tuple[int, str]:
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, out

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)

    def stderr(self) -> str:
        return self.log.read_text()[-4000:] if self.log.exists() else ""


@contextlib.contextmanager
def worker_processes(
    database: Database, cipher_key: str, home: Path, *executor_ids: str, args: list[str]
) -> Iterator[list[WorkerProcess]]:
    """Start workers (ready when entered); kill whatever is still running at the end."""
    workers = [
        WorkerProcess(database, cipher_key, home, executor_id=name, args=args)
        for name in executor_ids
    ]
    try:
        for worker in workers:
            worker.wait_ready()
        yield workers
    finally:
        for worker in workers:
            worker.kill()


# --- reading what the diagnostic probe wrote ---------------------------------------------------


def probe_attempts(engine: sa.Engine, key: str) -> list[str]:
    """The executors that ran the probe's first step for `key`, in order."""
    query = (
        sa.select(tables.probe_attempts.c.executor_id)
        .where(tables.probe_attempts.c.probe_key == key)
        .order_by(tables.probe_attempts.c.id)
    )
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def probe_marks(engine: sa.Engine) -> dict[str, str]:
    """Finished probes: key -> the executor that finished it."""
    query = sa.select(tables.probe_marks.c.probe_key, tables.probe_marks.c.executor_id)
    with engine.connect() as conn:
        return {key: executor for key, executor in conn.execute(query)}


def status_of(client: DBOSClient, workflow_id: str) -> str | None:
    found = client.list_workflows(workflow_ids=[workflow_id], load_input=False, load_output=False)
    return str(found[0].status) if found else None


@contextlib.contextmanager
def sync_engine(database: Database) -> Iterator[sa.Engine]:
    """An engine on the test database that creates the worker tables if they are missing."""
    engine = database.create_sync_engine()
    try:
        tables.create_tables(engine)
        yield engine
    finally:
        engine.dispose()
