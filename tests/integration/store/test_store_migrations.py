"""Migrations: up and down on both databases, in step with the tables, safe to start in parallel."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from chronobridge.store import (
    KeyRing,
    current_revisions,
    downgrade,
    head_revisions,
    make_engine,
    open_database,
    upgrade,
)
from chronobridge.store.tables import metadata
from support.store_workers import Workers

HUB_TABLES = {
    "apps",
    "connections",
    "tokens",
    "oauth_states",
    "budget_windows",
    "api_calls",
    "audit_log",
    "audit_head",
}


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def test_open_database_migrates_a_blank_database(blank_database_url: str) -> None:
    db = await open_database(blank_database_url, keys=KeyRing.generate())
    try:
        assert await current_revisions(db.engine) == head_revisions()
    finally:
        await db.close()
    assert await _tables(blank_database_url) >= HUB_TABLES


async def test_the_tables_and_the_migrations_agree(database_url: str) -> None:
    """Autogenerate finds nothing to add: a table change without a revision fails here."""
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await engine.dispose()
    assert diff == []


async def test_downgrade_to_base_and_up_again(blank_database_url: str) -> None:
    engine = make_engine(blank_database_url)
    try:
        await upgrade(engine)
        await downgrade(engine, "base")
        assert await current_revisions(engine) == set()
        assert not HUB_TABLES & await _tables(blank_database_url)
        await upgrade(engine)
        assert await current_revisions(engine) == head_revisions()
    finally:
        await engine.dispose()


def test_six_processes_opening_a_blank_database_at_once(blank_database_url: str) -> None:
    """Each process runs open_database(); one migrates, the others wait and find it done."""
    workers = Workers(KeyRing.generate(), "open", blank_database_url, count=6)
    try:
        workers.wait_ready()
        workers.go()
        assert workers.results() == [{"opened": True}] * 6
    finally:
        workers.kill()
