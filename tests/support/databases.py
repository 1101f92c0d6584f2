"""Real databases for tests: a fresh SQLite file or a fresh PostgreSQL database per test.

Fixtures (registered in tests/conftest.py):

- `database`: an open, migrated `chronobridge.store.Database`, once on SQLite and once on
  PostgreSQL (test ids `[sqlite]` / `[postgres]`). Use it for anything that reads or writes the
  store. Only one kind: `@pytest.mark.parametrize("db_kind", ["postgres"])`.
- `database_url` + `keyring`: the same fresh migrated database as a URL, for tests that open
  their own engines or start other processes.
- `blank_database_url`: an empty database (no tables), for migration tests.
- `postgres`: the PostgreSQL server (a `PostgresServer`) that EVERY PostgreSQL test uses, the
  store's and the DBOS workers' alike: 127.0.0.1:5432 when it accepts connections (or
  CHRONOBRIDGE_TEST_POSTGRES=host:port), otherwise a throwaway cluster started from the
  distribution's binaries (tools/system-deps.sh installs them). CHRONOBRIDGE_TEST_POSTGRES=
  throwaway ignores the machine's server and always starts one (how the fallback is tested).
  If nothing works the tests FAIL: they never skip.

Each test gets its own database: SQLite copies a migrated template file, PostgreSQL clones a
migrated template database (`CREATE DATABASE … TEMPLATE`, ~60 ms). Names carry the xdist worker
id and a random tag, so `-n 2` and parallel sessions never collide; everything is dropped after.
"""

from __future__ import annotations

import asyncio
import glob
import itertools
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from chronobridge.store import Database, KeyRing, open_database
from support.servers import free_port

__all__ = [
    "THROWAWAY",
    "PostgresServer",
    "blank_database_url",
    "configured_server",
    "database",
    "database_url",
    "db_kind",
    "keyring",
    "postgres",
    "postgres_template",
    "sqlite_template",
    "throwaway_cluster",
]

PG_ENV = "CHRONOBRIDGE_TEST_POSTGRES"
THROWAWAY = "throwaway"
"""PG_ENV's value that ignores any running server and starts a throwaway cluster."""
DEFAULT_PG = ("127.0.0.1", 5432)
_SESSION_TAG = f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
_COUNTER = itertools.count(1)


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str = "postgres"
    throwaway: bool = False
    """Started by the tests themselves (and removed after the session)."""

    def url(self, dbname: str) -> str:
        """SQLAlchemy URL (async psycopg driver) of one database on this server."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def conninfo(self, dbname: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def accepts_connections(self) -> bool:
        try:
            with psycopg.connect(self.conninfo(), connect_timeout=3):
                return True
        except psycopg.OperationalError:
            return False

    def execute(self, statement: sql.Composable | str, dbname: str = "postgres") -> None:
        with psycopg.connect(self.conninfo(dbname), autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def create_database(self, name: str, *, template: str | None = None) -> None:
        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            stmt = sql.SQL("{} TEMPLATE {}").format(stmt, sql.Identifier(template))
        self.execute(stmt)

    def drop_database(self, name: str) -> None:
        self.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def unique_name(prefix: str) -> str:
    return f"{prefix}_{_SESSION_TAG}_{next(_COUNTER)}".lower()


# --- finding or starting a server --------------------------------------------------------------


def configured_server() -> PostgresServer:
    value = os.environ.get(PG_ENV)
    if not value:
        return PostgresServer(*DEFAULT_PG)
    host, _, port = value.rpartition(":")
    return PostgresServer(host or "127.0.0.1", int(port))


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _version_key(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


def _as_postgres_user() -> list[str]:
    """initdb refuses to run as root: run the cluster as the `postgres` OS user."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.fail("Running as root without runuser: cannot start a PostgreSQL cluster.")
    return [runuser, "-u", "postgres", "--"]


@contextmanager
def throwaway_cluster() -> Iterator[PostgresServer]:
    """A new PostgreSQL cluster on a free port in a temporary folder, stopped and removed after."""
    bindir = _bindir()
    if bindir is None:
        pytest.fail("No PostgreSQL server at 127.0.0.1:5432 and no initdb to start one.")
    root = Path(tempfile.mkdtemp(prefix="cb-pg-"))
    prefix = _as_postgres_user()
    if prefix:
        shutil.chown(root, user="postgres")
    data, port = root / "data", free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = [*prefix, str(bindir / "pg_ctl"), "-D", str(data)]
    try:
        _run(
            [
                *prefix,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ]
        )
        _run([*pg_ctl, "-w", "-t", "60", "-l", str(root / "log"), "-o", options, "start"])
        yield PostgresServer("127.0.0.1", port, throwaway=True)
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"{Path(command[-1]).name}: {command!r} failed:\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The one PostgreSQL server of the session (see the module docstring)."""
    if os.environ.get(PG_ENV) != THROWAWAY:
        server = configured_server()
        if server.accepts_connections():
            yield server
            return
        if os.environ.get(PG_ENV):
            pytest.fail(f"{PG_ENV}={os.environ[PG_ENV]} does not accept connections.")
    with throwaway_cluster() as started:
        yield started


# --- templates: migrate once per session, copy per test ----------------------------------------


def _migrate(url: str) -> None:
    async def run() -> None:
        db = await open_database(url, keys=KeyRing.generate())
        await db.close()

    asyncio.run(run())


@pytest.fixture(scope="session")
def postgres_template(postgres: PostgresServer) -> Iterator[str]:
    name = unique_name("cbtmpl")
    postgres.create_database(name)
    try:
        _migrate(postgres.url(name))
        yield name
    finally:
        postgres.drop_database(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "hub.sqlite"
    _migrate(f"sqlite+aiosqlite:///{path}")
    return path


# --- per-test databases ------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def blank_database_url(
    db_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    if db_kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'hub.sqlite'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    name = unique_name("cbt")
    server.create_database(name)
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


@pytest.fixture
def database_url(db_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if db_kind == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "hub.sqlite"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    name = unique_name("cbt")
    server.create_database(name, template=request.getfixturevalue("postgres_template"))
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


@pytest.fixture
def keyring() -> KeyRing:
    return KeyRing.generate()


@pytest.fixture
async def database(database_url: str, keyring: KeyRing) -> AsyncIterator[Database]:
    db = await open_database(database_url, keys=keyring)
    try:
        yield db
    finally:
        await db.close()
