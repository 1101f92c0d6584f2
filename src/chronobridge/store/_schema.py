"""Bringing a database's schema up to date from synchronous code (the worker runtime, the
worker CLI, test fixtures), with the same locks as `open_database`.

The migration path is async (aiosqlite / psycopg async); a synchronous caller may itself be
running inside an event loop, so the migration runs on a private thread with its own loop.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.engine import URL

from chronobridge.store._database import make_engine, setup_lock
from chronobridge.store._migrate import upgrade

__all__ = ["ensure_schema"]


def ensure_schema(url: str | URL) -> None:
    """Apply every pending migration to the database at `url` (safe in parallel processes)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cb-migrate") as pool:
        pool.submit(asyncio.run, _migrate(url)).result()


async def _migrate(url: str | URL) -> None:
    engine = make_engine(url)
    try:
        async with setup_lock(engine):
            await upgrade(engine)
    finally:
        await engine.dispose()
