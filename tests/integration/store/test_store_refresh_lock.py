"""The per-connection refresh lock (OA-6, OA-8, OA-12): one refresh at a time across processes,
the rotated pair saved in the locked transaction, and a stale caller sees the new generation."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from chronobridge.errors import NeedsReconnect
from chronobridge.store import (
    Apps,
    AppSpec,
    Connection,
    Connections,
    ConnectionStatus,
    Database,
    Identity,
    KeyRing,
    Role,
    TokenPair,
    Tokens,
)
from support.store_workers import Workers

NOW = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)


def pair(tag: str) -> TokenPair:
    return TokenPair(
        access_token=f"access-{tag}",
        refresh_token=f"refresh-{tag}",
        expires_at=NOW + timedelta(hours=48),
    )


async def connected(db: Database) -> Connection:
    app = await Apps(db).create(
        AppSpec(name="a", client_id="c", client_secret="s", redirect_uris=("http://x/cb",)), now=NOW
    )
    identity = Identity(drchrono_user_id=5, username="dr", role=Role.DOCTOR, doctor_id=5)
    return await Connections(db).connect(app.id, identity, pair("first"), scopes=(), now=NOW)


async def test_complete_saves_the_rotated_pair_and_bumps_the_generation(database: Database) -> None:
    conn = await connected(database)
    tokens = Tokens(database)
    async with tokens.begin_refresh(conn.id) as handle:
        assert handle.generation == 1
        assert handle.current.refresh_token == "refresh-first"
        saved = await handle.complete(pair("second"), now=NOW)
        assert (saved.generation, handle.generation) == (2, 2)
    stored = await tokens.get(conn.id)
    assert stored is not None
    assert (stored.refresh_token, stored.generation) == ("refresh-second", 2)


async def test_an_error_inside_the_block_keeps_the_old_pair(database: Database) -> None:
    conn = await connected(database)
    tokens = Tokens(database)

    async def refresh_that_fails() -> None:
        async with tokens.begin_refresh(conn.id) as handle:
            await handle.complete(pair("lost"), now=NOW)
            raise TimeoutError("DrChrono's answer never arrived")

    with pytest.raises(TimeoutError):
        await refresh_that_fails()
    stored = await tokens.get(conn.id)
    assert stored is not None
    assert (stored.refresh_token, stored.generation) == ("refresh-first", 1)


async def test_a_stale_caller_sees_that_someone_else_refreshed(database: Database) -> None:
    conn = await connected(database)
    tokens = Tokens(database)
    seen = await tokens.get(conn.id)  # both callers read generation 1, then race
    assert seen is not None
    async with tokens.begin_refresh(conn.id) as winner:
        await winner.complete(pair("winner"), now=NOW)
    async with tokens.begin_refresh(conn.id) as late:
        assert late.generation != seen.generation  # so: use late.current, do not refresh
        assert late.current.access_token == "access-winner"


async def test_invalid_grant_inside_the_lock_needs_reconnect(database: Database) -> None:
    conn = await connected(database)
    tokens = Tokens(database)
    async with tokens.begin_refresh(conn.id) as handle:
        await handle.needs_reconnect(now=NOW)
    assert await tokens.get(conn.id) is None
    after = await Connections(database).get(conn.id)
    assert after is not None
    assert after.status is ConnectionStatus.NEEDS_RECONNECT
    with pytest.raises(NeedsReconnect):
        async with tokens.begin_refresh(conn.id):
            pass


async def test_a_second_process_waits_for_the_first_refresh(
    database: Database, database_url: str, keyring: KeyRing
) -> None:
    """Another process holds the lock for 1.5 s; this one blocks, then sees its new pair."""
    conn = await connected(database)
    holder = Workers(keyring, "hold-refresh", database_url, str(conn.id), "1.5")
    try:
        holder.wait_ready()
        holder.go()
        assert holder.readline() == "locked"
        asked = time.time()
        async with Tokens(database).begin_refresh(conn.id) as handle:
            got = time.time()
            generation, refresh = handle.generation, handle.current.refresh_token
        (result,) = holder.results()
    finally:
        holder.kill()
    assert got - asked > 0.5
    assert got >= result["released_at"] - 0.05
    assert generation == result["generation"] == 2
    assert refresh == "refresh-from-holder"
