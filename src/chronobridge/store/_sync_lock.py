"""One sync per (app, resource) at a time, whoever starts it (a worker job, the CLI, a test).

PostgreSQL: a session advisory lock held on a dedicated connection for the length of the run.
SQLite: an exclusive `flock` on a small file beside the database, one per (app, resource).
Both are released by the operating system when the process dies, even on `kill -9`, so a
crashed run never blocks its own resumption. `try_lock` does not wait: a second caller learns
at once that the resource is busy.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import sqlalchemy as sa

from chronobridge.store._database import Database

__all__ = ["sync_lock"]


@asynccontextmanager
async def sync_lock(db: Database, *, app_id: int, resource: str) -> AsyncIterator[bool]:
    """Yields True while this caller holds the lock, False when another one does."""
    name = f"sync:{app_id}:{resource}"
    if db.is_sqlite:
        async with _file_lock(db, name) as held:
            yield held
        return
    async with _advisory_lock(db, name) as held:
        yield held


@asynccontextmanager
async def _advisory_lock(db: Database, name: str) -> AsyncIterator[bool]:
    key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
    async with db.engine.connect() as conn:
        held = bool(await conn.scalar(sa.select(sa.func.pg_try_advisory_lock(key))))
        await conn.commit()
        try:
            yield held
        finally:
            if held:
                await conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
                await conn.commit()


@asynccontextmanager
async def _file_lock(db: Database, name: str) -> AsyncIterator[bool]:
    fd = _open(Path(f"{db.engine.url.database}.locks"), name.replace(":", "-") + ".lock")
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing releases the lock


def _open(folder: Path, filename: str) -> int:
    """The lock file's descriptor (two quick system calls: no need for a thread)."""
    folder.mkdir(mode=0o700, exist_ok=True)
    return os.open(folder / filename, os.O_RDWR | os.O_CREAT, 0o600)
