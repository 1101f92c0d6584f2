"""Create locks: the row that makes two workers creating the same patient take turns.

One row per (app, identity key), the identity key being a blind index of the normalized first
name, last name and birth date. A write-back that is about to create a patient *claims* the
row: it owns it when it inserted it, when it owned it already (its own retry after a crash or
a timeout), or when the previous owner finished (`created` / `failed`) or went silent for a
whole lease. Otherwise it waits, and looks again. The owner looks the patient up (store and
DrChrono) before it POSTs, so the second worker finds the patient the first one created.

The claim runs in one write transaction with the row locked (`FOR UPDATE` on PostgreSQL, the
write lock on SQLite): two claims of one row never both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.store._common import utcnow
from chronobridge.store._database import Database
from chronobridge.store.tables import pending_creates

__all__ = ["CreateLock", "LockStatus", "PendingCreates"]


class LockStatus(StrEnum):
    PENDING = "pending"
    CREATED = "created"
    FAILED = "failed"


@dataclass(frozen=True, kw_only=True)
class CreateLock:
    id: int
    identity_key: str
    writeback_id: int | None
    status: LockStatus
    drchrono_id: str | None
    """The patient the last owner created or found (a hint for the next owner's lookup)."""
    owned: bool
    """Whether the claim that returned this made the caller the owner."""
    updated_at: datetime


class PendingCreates:
    """The pending_creates table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim(
        self,
        app_id: int,
        identity_key: str,
        *,
        writeback_id: int,
        idempotency_key: str,
        lease: timedelta,
        now: datetime | None = None,
    ) -> CreateLock:
        """Own the lock, or learn who does (`owned` False: wait and claim again)."""
        stamp = utcnow(now)
        mine = {
            "writeback_id": writeback_id,
            "idempotency_key": idempotency_key,
            "status": LockStatus.PENDING.value,
            "updated_at": stamp,
        }
        insert = self._db.insert(pending_creates).values(
            app_id=app_id, identity_key=identity_key, created_at=stamp, **mine
        )
        insert = insert.on_conflict_do_nothing(index_elements=["app_id", "identity_key"])
        where = sa.and_(
            pending_creates.c.app_id == app_id, pending_creates.c.identity_key == identity_key
        )
        async with self._db.write() as conn:
            await conn.execute(insert)
            row = (await conn.execute(_select(where).with_for_update())).one()
            if not _may_take(row, writeback_id, stale_before=stamp - lease):
                return _lock(row._mapping, owned=False)
            await conn.execute(pending_creates.update().where(where).values(mine))
            fresh = (await conn.execute(_select(where))).one()
        return _lock(fresh._mapping, owned=True)

    async def finish(
        self,
        lock: CreateLock,
        status: LockStatus,
        *,
        writeback_id: int,
        drchrono_id: str | None = None,
        tx: AsyncConnection | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Release an owned lock as created (with the patient's id) or failed; False when
        another owner took it over meanwhile (this owner's lease ran out)."""
        values: dict[str, Any] = {"status": status.value, "updated_at": utcnow(now)}
        if drchrono_id is not None:
            values["drchrono_id"] = drchrono_id
        update = pending_creates.update().where(
            pending_creates.c.id == lock.id, pending_creates.c.writeback_id == writeback_id
        )
        async with self._db.write(tx) as conn:
            result = await conn.execute(update.values(values))
        return bool(result.rowcount)

    async def get(self, app_id: int, identity_key: str) -> CreateLock | None:
        where = sa.and_(
            pending_creates.c.app_id == app_id, pending_creates.c.identity_key == identity_key
        )
        async with self._db.read() as conn:
            row = (await conn.execute(_select(where))).first()
        return None if row is None else _lock(row._mapping, owned=False)


def _may_take(row: Any, writeback_id: int, *, stale_before: datetime) -> bool:
    """Mine already (inserted now, or my own retry), released, or abandoned for a lease."""
    if row.writeback_id == writeback_id:
        return True
    if row.status != LockStatus.PENDING.value:
        return True
    return bool(row.updated_at < stale_before)


def _select(where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    return sa.select(pending_creates).where(where)


def _lock(row: Any, *, owned: bool) -> CreateLock:
    return CreateLock(
        id=int(row["id"]),
        identity_key=row["identity_key"],
        writeback_id=row["writeback_id"],
        status=LockStatus(row["status"]),
        drchrono_id=row["drchrono_id"],
        owned=owned,
        updated_at=row["updated_at"],
    )
