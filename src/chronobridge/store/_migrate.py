"""Opening the database: build the engine, bring the schema to the newest revision, hand back a
`Database`. Alembic runs programmatically on the engine's own connection (no alembic.ini, no
working directory); see migrations/env.py for how concurrent starts are serialized.

Alembic keeps the running migration in module globals (`alembic.context`, `alembic.op`), so
within one process only one Alembic command may run at a time: hubs opened at once on several
threads (each with its own event loop and engine), or interleaved on one loop, would otherwise
read each other's environment and run on another loop's connection. `_alembic_turn` takes a
process-wide lock for that; the advisory lock (PostgreSQL) or `setup_lock` (SQLite) orders
processes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from chronobridge.errors import ConfigError
from chronobridge.settings import Settings
from chronobridge.store._crypto import KeyRing
from chronobridge.store._database import BUSY_TIMEOUT_S, Database, make_engine, setup_lock
from chronobridge.store._keyfile import load_keyring

__all__ = ["alembic_config", "current_revisions", "head_revisions", "open_database", "upgrade"]

MIGRATIONS = Path(__file__).with_name("migrations")

# One Alembic command at a time in this process (see the module docstring).
_ALEMBIC_TURN = threading.Lock()
_TURN_POLL_S = 0.01


async def open_database(
    source: Settings | str | URL,
    *,
    keys: KeyRing | None = None,
    migrate: bool = True,
    busy_timeout: float = BUSY_TIMEOUT_S,
) -> Database:
    """The hub's database from settings (URL and keys) or from a URL plus `keys`.

    With `migrate`, applies every pending Alembic revision first; safe when several processes
    start at once.
    """
    if isinstance(source, Settings):
        url: str | URL = source.database
        keys = keys or load_keyring(source)
    elif keys is None:
        raise ConfigError("open_database(url) needs the encryption keys (keys=KeyRing(...)).")
    else:
        url = source
    engine = make_engine(url, busy_timeout=busy_timeout)
    try:
        async with setup_lock(engine):
            await (upgrade(engine) if migrate else _first_connect(engine))
    except BaseException:
        await engine.dispose()
        raise
    return Database(engine, keys)


async def _first_connect(engine: AsyncEngine) -> None:
    async with engine.connect():
        pass  # runs the connect hook (WAL, pragmas) while the setup lock is held


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """Alembic's configuration for the hub's migrations, without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@asynccontextmanager
async def _alembic_turn() -> AsyncIterator[None]:
    """This process's turn to run Alembic. Polls rather than blocking in a worker thread: the
    event loop stays free, and a cancelled wait never leaves the lock taken."""
    while not _ALEMBIC_TURN.acquire(blocking=False):  # noqa: ASYNC110 - other threads' loops
        await asyncio.sleep(_TURN_POLL_S)
    try:
        yield
    finally:
        _ALEMBIC_TURN.release()


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    """Apply migrations up to `revision` ("heads": every branch, so parallel features merge)."""
    async with _alembic_turn(), engine.connect() as conn:
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with _alembic_turn(), engine.connect() as conn:
        await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), revision))


def head_revisions() -> set[str]:
    """The revisions the code expects."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


async def current_revisions(engine: AsyncEngine) -> set[str]:
    """The revisions the database is at."""
    async with engine.connect() as conn:
        heads = await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_heads()
        )
    return set(heads)
