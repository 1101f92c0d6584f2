"""OAuth tokens per connection: encrypted, bound to the connection id, with a generation number.

DrChrono rotates the refresh token on every refresh and the old one stops working, so two
processes must never refresh the same connection at once. `begin_refresh` opens a write
transaction that holds the connection's lock until it ends (PostgreSQL: `SELECT … FOR UPDATE`
on the token row; SQLite: the BEGIN IMMEDIATE write lock). The token manager then:

    async with tokens.begin_refresh(connection_id) as handle:
        if handle.generation != generation_i_used:   # someone else refreshed meanwhile
            return handle.current
        pair = await drchrono_refresh(handle.current.refresh_token)
        return await handle.complete(pair)            # saved in the same transaction

Leaving the block commits; an exception rolls back and releases the lock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.errors import NeedsReconnect
from chronobridge.store._common import ConnectionStatus, utcnow
from chronobridge.store._crypto import KeyRing
from chronobridge.store._database import Database
from chronobridge.store.tables import connections, tokens

__all__ = ["RefreshHandle", "StoredTokens", "TokenPair", "Tokens", "write_tokens"]


@dataclass(frozen=True, kw_only=True)
class TokenPair:
    """What DrChrono's /o/token/ answers (expires_at = now + expires_in)."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime

    def expires_within(self, margin: timedelta, *, now: datetime) -> bool:
        return self.expires_at - margin <= now


@dataclass(frozen=True, kw_only=True)
class StoredTokens(TokenPair):
    """A connection's current tokens; `generation` grows by one on every save."""

    connection_id: int
    generation: int
    updated_at: datetime


class Tokens:
    """The tokens table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(
        self, connection_id: int, *, tx: AsyncConnection | None = None
    ) -> StoredTokens | None:
        async with self._db.read(tx) as conn:
            row = (await conn.execute(_select(connection_id))).first()
        return None if row is None else _stored(row._mapping, self._db.keys)

    async def save(
        self,
        connection_id: int,
        pair: TokenPair,
        *,
        now: datetime | None = None,
        tx: AsyncConnection | None = None,
    ) -> StoredTokens:
        """Store a new pair (first connect or reconnect): replaces any old pair atomically."""
        async with self._db.write(tx) as conn:
            return await write_tokens(conn, self._db, connection_id, pair, now=utcnow(now))

    def begin_refresh(self, connection_id: int) -> AbstractAsyncContextManager[RefreshHandle]:
        """Lock the connection's tokens across processes until the block ends."""
        return self._refresh(connection_id)

    async def delete(self, connection_id: int, *, tx: AsyncConnection | None = None) -> bool:
        async with self._db.write(tx) as conn:
            result = await conn.execute(
                tokens.delete().where(tokens.c.connection_id == connection_id)
            )
        return result.rowcount > 0

    async def mark_needs_reconnect(
        self, connection_id: int, *, now: datetime | None = None, tx: AsyncConnection | None = None
    ) -> None:
        """The grant is dead (invalid_grant, repeated 401): drop the tokens, flag the connection."""
        async with self._db.write(tx) as conn:
            await _needs_reconnect(conn, connection_id, utcnow(now))

    @asynccontextmanager
    async def _refresh(self, connection_id: int) -> AsyncIterator[RefreshHandle]:
        async with self._db.write() as conn:
            row = (await conn.execute(_select(connection_id).with_for_update())).first()
            if row is None:
                raise NeedsReconnect(f"Connection {connection_id} has no tokens.")
            yield RefreshHandle(self._db, conn, _stored(row._mapping, self._db.keys))


class RefreshHandle:
    """The locked token row of one connection, inside its transaction."""

    def __init__(self, db: Database, conn: AsyncConnection, current: StoredTokens) -> None:
        self._db = db
        self._conn = conn
        self.current = current

    @property
    def generation(self) -> int:
        return self.current.generation

    async def complete(self, pair: TokenPair, *, now: datetime | None = None) -> StoredTokens:
        """Save the rotated pair in the locked transaction; it commits when the block ends."""
        self.current = await write_tokens(
            self._conn, self._db, self.current.connection_id, pair, now=utcnow(now)
        )
        return self.current

    async def needs_reconnect(self, *, now: datetime | None = None) -> None:
        """DrChrono refused the refresh token: drop the tokens and flag the connection."""
        await _needs_reconnect(self._conn, self.current.connection_id, utcnow(now))


async def write_tokens(
    conn: AsyncConnection, db: Database, connection_id: int, pair: TokenPair, *, now: datetime
) -> StoredTokens:
    """Insert or replace a connection's pair inside `conn`'s transaction; bumps the generation."""
    keys = db.keys
    values = {
        "connection_id": connection_id,
        "access_token": keys.encrypt(pair.access_token, context=_context("access", connection_id)),
        "refresh_token": keys.encrypt(
            pair.refresh_token, context=_context("refresh", connection_id)
        ),
        "expires_at": pair.expires_at,
        "generation": 1,
        "updated_at": now,
    }
    insert = db.insert(tokens).values(values)
    changes = {
        k: insert.excluded[k] for k in ("access_token", "refresh_token", "expires_at", "updated_at")
    }
    upsert = insert.on_conflict_do_update(
        index_elements=["connection_id"], set_={**changes, "generation": tokens.c.generation + 1}
    )
    generation = (await conn.execute(upsert.returning(tokens.c.generation))).scalar_one()
    return StoredTokens(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_at=pair.expires_at,
        connection_id=connection_id,
        generation=generation,
        updated_at=now,
    )


async def _needs_reconnect(conn: AsyncConnection, connection_id: int, now: datetime) -> None:
    await conn.execute(tokens.delete().where(tokens.c.connection_id == connection_id))
    await conn.execute(
        connections.update()
        .where(connections.c.id == connection_id)
        .values(status=ConnectionStatus.NEEDS_RECONNECT.value, updated_at=now)
    )


def _select(connection_id: int) -> sa.Select[Any]:
    return sa.select(tokens).where(tokens.c.connection_id == connection_id)


def _context(kind: str, connection_id: int) -> str:
    return f"tokens.{kind}_token:{connection_id}"


def _stored(row: Any, keys: KeyRing) -> StoredTokens:
    cid = row["connection_id"]
    return StoredTokens(
        access_token=keys.decrypt(row["access_token"], context=_context("access", cid)),
        refresh_token=keys.decrypt(row["refresh_token"], context=_context("refresh", cid)),
        expires_at=row["expires_at"],
        connection_id=cid,
        generation=row["generation"],
        updated_at=row["updated_at"],
    )
