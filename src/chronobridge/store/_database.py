"""The engine and transaction layer: one async code path over SQLite (aiosqlite) and PostgreSQL
(psycopg 3).

SQLite: WAL (readers never wait for the writer), foreign keys on, a busy timeout, and SQLAlchemy
emits BEGIN itself (the documented event-hook recipe) so that a write transaction starts with
`BEGIN IMMEDIATE`: it takes the database's write lock up front, and writers in other processes
queue on the busy timeout instead of failing with SQLITE_BUSY when a deferred transaction tries
to upgrade its lock. Every transaction is IMMEDIATE unless opened with `Database.read()`.
PostgreSQL: READ COMMITTED, with row locks (`SELECT … FOR UPDATE`) where a value is read and
then written; `with_for_update()` renders as nothing on SQLite, where the IMMEDIATE transaction
already holds the lock.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from chronobridge.errors import ConfigError
from chronobridge.store._crypto import KeyRing

__all__ = [
    "READ_ONLY",
    "Database",
    "Insert",
    "install_sqlite_rules",
    "make_engine",
    "normalize_url",
    "setup_lock",
]

READ_ONLY = "chronobridge_read_only"
BUSY_TIMEOUT_S = 30.0

Insert = sqlite.Insert | postgresql.Insert


class Database:
    """The hub's database: an async engine, its key ring and transaction helpers."""

    def __init__(self, engine: AsyncEngine, keys: KeyRing) -> None:
        self.engine = engine
        self.keys = keys
        self.dialect: str = engine.dialect.name
        self.sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def write(
        self, tx: AsyncConnection | None = None
    ) -> AbstractAsyncContextManager[AsyncConnection]:
        """A write transaction (IMMEDIATE on SQLite), or `tx` itself when the caller has one."""
        return _existing(tx) if tx is not None else self.engine.begin()

    def read(
        self, tx: AsyncConnection | None = None
    ) -> AbstractAsyncContextManager[AsyncConnection]:
        """A read transaction (DEFERRED on SQLite: never waits for writers), or `tx`."""
        return _existing(tx) if tx is not None else self._read()

    def insert(self, table: sa.Table) -> Insert:
        """INSERT with this dialect's ON CONFLICT support (`on_conflict_do_update`, `excluded`)."""
        if self.is_sqlite:
            return sqlite.insert(table)
        return postgresql.insert(table)

    async def close(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            await conn.execution_options(**{READ_ONLY: True})
            async with conn.begin():
                yield conn


@asynccontextmanager
async def _existing(tx: AsyncConnection) -> AsyncIterator[AsyncConnection]:
    yield tx


@asynccontextmanager
async def setup_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """On SQLite, one process at a time creates the file, switches it to WAL and migrates.

    Switching a new file to WAL needs an exclusive lock, and SQLite answers SQLITE_BUSY at once
    (no busy wait) to a second connection that tries the same: it would be a deadlock. An
    advisory lock on `<database>.lock` next to the file makes starting processes take turns.
    PostgreSQL needs none (migrations hold an advisory lock, see migrations/env.py).
    """
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database:
        yield
        return
    fd = os.open(f"{database}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def normalize_url(url: str | URL) -> URL:
    """The async driver's URL: sqlite → sqlite+aiosqlite, postgresql → postgresql+psycopg."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ConfigError("The hub needs an SQLite file, not an in-memory database.")
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    raise ConfigError(f"Unsupported database {backend!r}: use sqlite or postgresql.")


def make_engine(url: str | URL, *, busy_timeout: float = BUSY_TIMEOUT_S) -> AsyncEngine:
    """An async engine configured for the hub's locking rules on either database."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        Path(str(parsed.database)).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        engine = create_async_engine(parsed, connect_args={"timeout": busy_timeout})
        install_sqlite_rules(engine.sync_engine, busy_ms=int(busy_timeout * 1000))
        return engine
    lock_ms = int(busy_timeout * 1000)
    return create_async_engine(
        parsed, pool_pre_ping=True, connect_args={"options": f"-c lock_timeout={lock_ms}"}
    )


def install_sqlite_rules(engine: sa.Engine, *, busy_ms: int) -> None:
    """WAL, full sync, foreign keys, a busy wait, and BEGIN IMMEDIATE for every write
    transaction (reads marked READ_ONLY begin DEFERRED): writers in several processes queue
    instead of failing. For the async engine's sync core and for plain sync engines alike."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the driver; _on_begin below emits it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            f"PRAGMA busy_timeout = {busy_ms}",
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = FULL",
            "PRAGMA foreign_keys = ON",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN DEFERRED")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
