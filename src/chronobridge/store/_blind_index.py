"""The blind-index key: what patient matching hashes names, birth dates, phones and emails with.

A key of its own (32 random bytes), never the encryption key: rotating the encryption keys
re-encrypts the stored value (`hub_secrets`) but never changes it, so the match index stays
valid across rotations. It is created on first use; processes racing to create it agree on one
(INSERT … ON CONFLICT DO NOTHING, then read back). Losing it (a restore without `hub_secrets`)
only means rebuilding the index from the practice model.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.domain.matching import Hasher, hmac_hasher
from chronobridge.store._common import utcnow
from chronobridge.store._database import Database
from chronobridge.store.tables import hub_secrets

__all__ = ["BLIND_INDEX_SECRET", "BlindIndex"]

BLIND_INDEX_SECRET = "blind_index"  # noqa: S105 - the name of a secret, not one


class BlindIndex:
    """The hub's blind-index key, loaded once per instance."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._key: bytes | None = None

    async def key(self, *, tx: AsyncConnection | None = None, now: datetime | None = None) -> bytes:
        """The key; created on first use. Pass `tx` when a write transaction is open (SQLite
        has one writer: a second transaction from the same task would wait for itself)."""
        if self._key is not None:
            return self._key
        async with self._db.write(tx) as conn:
            found = await self._read(conn)
            if found is not None:
                self._key = found
                return found
            # Not cached: the caller's transaction may still roll the new key back.
            return await self._create(conn, utcnow(now))

    async def hasher(self, *, tx: AsyncConnection | None = None) -> Hasher:
        return hmac_hasher(await self.key(tx=tx))

    async def _create(self, conn: AsyncConnection, stamp: datetime) -> bytes:
        fresh = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
        insert = self._db.insert(hub_secrets).values(
            name=BLIND_INDEX_SECRET,
            value=self._db.keys.encrypt(fresh, context=_context()),
            created_at=stamp,
        )
        await conn.execute(insert.on_conflict_do_nothing(index_elements=["name"]))
        stored = await self._read(conn)  # ours, or the one a racing process stored first
        if stored is None:  # pragma: no cover - one of the two inserts is there
            raise RuntimeError("the blind-index key could not be stored")
        return stored

    async def _read(self, conn: AsyncConnection) -> bytes | None:
        query = sa.select(hub_secrets.c.value).where(hub_secrets.c.name == BLIND_INDEX_SECRET)
        token = (await conn.execute(query)).scalar_one_or_none()
        if token is None:
            return None
        return base64.b64decode(self._db.keys.decrypt(token, context=_context()))


def _context() -> str:
    return f"hub_secrets.value:{BLIND_INDEX_SECRET}"
