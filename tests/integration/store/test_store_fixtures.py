"""The database fixtures themselves: PostgreSQL tests never skip for want of a server."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from chronobridge.store import Database, KeyRing, current_revisions, head_revisions, open_database
from support.databases import PostgresServer, throwaway_cluster


async def test_the_database_fixture_is_migrated_and_empty(database: Database) -> None:
    assert await current_revisions(database.engine) == head_revisions()
    async with database.read() as tx:
        assert (await tx.execute(sa.text("SELECT count(*) FROM apps"))).scalar_one() == 0


def test_a_throwaway_cluster_starts_when_no_server_runs() -> None:
    """The fallback path of the `postgres` fixture: initdb + pg_ctl as the postgres user."""
    with throwaway_cluster() as server:
        assert server.port != 5432
        assert server.accepts_connections()
        server.create_database("fallback_check")

        async def migrate() -> set[str]:
            db = await open_database(server.url("fallback_check"), keys=KeyRing.generate())
            try:
                return await current_revisions(db.engine)
            finally:
                await db.close()

        assert asyncio.run(migrate()) == head_revisions()
    assert not PostgresServer(server.host, server.port).accepts_connections()
