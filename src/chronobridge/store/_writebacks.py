"""The write-back outbox: one row per change the hub sends to DrChrono.

Keyed by the plan's idempotency key (unique): the same change submitted twice is one row, and a
`done` row is never sent again. An execution *claims* the row (`sending` with a lease): two
executors never send one change at once, and a crashed one's lease runs out. Values are
encrypted, bound to the key; plaintext columns hold ids, field names, statuses, a sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.store._common import utcnow
from chronobridge.store._database import Database
from chronobridge.store.tables import writebacks

__all__ = ["FINAL", "NewWriteback", "Settled", "StoredWriteback", "WritebackStatus", "Writebacks"]


class WritebackStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    DONE = "done"
    REJECTED = "rejected"  # 400: DrChrono refused fields
    CONFLICT = "conflict"  # 409: overlap, duplicate, locked
    REVIEW = "review"  # a possible match waits for a person; nothing was created
    FAILED = "failed"  # anything else that retrying will not fix (401, 403, 404, gave up)


FINAL = frozenset(
    {
        WritebackStatus.DONE,
        WritebackStatus.REJECTED,
        WritebackStatus.CONFLICT,
        WritebackStatus.REVIEW,
        WritebackStatus.FAILED,
    }
)


@dataclass(frozen=True, kw_only=True)
class NewWriteback:
    app_id: int
    connection_id: int | None
    model: str
    action: str
    external_id: str | None
    payload: str = field(repr=False)
    """The model values as JSON text (patient data): encrypted before it is stored."""
    changed: tuple[str, ...] | None
    idempotency_key: str
    priority: str
    force: bool = False


@dataclass(frozen=True, kw_only=True)
class StoredWriteback:
    id: int
    app_id: int
    connection_id: int | None
    model: str
    action: str
    external_id: str | None
    changed: tuple[str, ...] | None
    status: WritebackStatus
    idempotency_key: str
    priority: str
    force: bool
    drchrono_id: str | None
    matched_existing: bool
    error_fields: tuple[str, ...]
    error_class: str | None
    message: str | None
    attempts: int
    submissions: int
    lease_until: datetime | None
    workflow_id: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def final(self) -> bool:
        return self.status in FINAL


@dataclass(frozen=True, kw_only=True)
class Settled:
    """How an execution ended."""

    status: WritebackStatus
    drchrono_id: str | None = None
    matched_existing: bool = False
    error_fields: tuple[str, ...] = ()
    error_class: str | None = None
    message: str | None = None


class Writebacks:
    """The writebacks table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self, new: NewWriteback, *, tx: AsyncConnection | None = None, now: datetime | None = None
    ) -> tuple[StoredWriteback, bool]:
        """The row for `new.idempotency_key`, inserted if there was none; (row, inserted)."""
        stamp = utcnow(now)
        values = {
            "app_id": new.app_id,
            "connection_id": new.connection_id,
            "model": new.model,
            "external_id": new.external_id,
            "action": new.action,
            "payload": self._db.keys.encrypt(new.payload, context=_context(new.idempotency_key)),
            "changed": None if new.changed is None else sorted(new.changed),
            "status": WritebackStatus.QUEUED.value,
            "idempotency_key": new.idempotency_key,
            "priority": new.priority,
            "force": new.force,
            "submissions": 1,
            "created_at": stamp,
            "updated_at": stamp,
        }
        insert = self._db.insert(writebacks).values(values)
        insert = insert.on_conflict_do_nothing(index_elements=["idempotency_key"])
        async with self._db.write(tx) as conn:
            inserted = (await conn.execute(insert.returning(writebacks.c.id))).first()
            row = (
                await conn.execute(_where(writebacks.c.idempotency_key == new.idempotency_key))
            ).one()
        return _stored(row._mapping), inserted is not None

    async def get(
        self, writeback_id: int, *, tx: AsyncConnection | None = None
    ) -> StoredWriteback | None:
        async with self._db.read(tx) as conn:
            row = (await conn.execute(_where(writebacks.c.id == writeback_id))).first()
        return None if row is None else _stored(row._mapping)

    async def payload(self, stored: StoredWriteback) -> str:
        """The model values as JSON text (patient data)."""
        query = sa.select(writebacks.c.payload).where(writebacks.c.id == stored.id)
        async with self._db.read() as conn:
            token = (await conn.execute(query)).scalar_one()
        return self._db.keys.decrypt(token, context=_context(stored.idempotency_key))

    async def newer_for(self, stored: StoredWriteback) -> int | None:
        """The newest later write-back of the same record, if any (its id)."""
        if stored.external_id is None:
            return None
        query = sa.select(sa.func.max(writebacks.c.id)).where(
            writebacks.c.app_id == stored.app_id,
            writebacks.c.model == stored.model,
            writebacks.c.external_id == stored.external_id,
            writebacks.c.id > stored.id,
        )
        async with self._db.read() as conn:
            found = (await conn.execute(query)).scalar_one_or_none()
        return None if found is None else int(found)

    async def claim(
        self, writeback_id: int, *, lease: timedelta, now: datetime | None = None
    ) -> StoredWriteback | None:
        """Take the row for one execution: queued, or sending with a lease that ran out."""
        stamp = utcnow(now)
        claimable = sa.or_(
            writebacks.c.status == WritebackStatus.QUEUED.value,
            sa.and_(
                writebacks.c.status == WritebackStatus.SENDING.value,
                writebacks.c.lease_until < stamp,
            ),
        )
        update = (
            writebacks.update()
            .where(writebacks.c.id == writeback_id, claimable)
            .values(
                status=WritebackStatus.SENDING.value,
                lease_until=stamp + lease,
                attempts=writebacks.c.attempts + 1,
                updated_at=stamp,
            )
            .returning(writebacks.c.id)
        )
        async with self._db.write() as conn:
            claimed = (await conn.execute(update)).first()
            if claimed is None:
                return None
            row = (await conn.execute(_where(writebacks.c.id == writeback_id))).one()
        return _stored(row._mapping)

    async def extend(
        self, writeback_id: int, *, lease: timedelta, now: datetime | None = None
    ) -> None:
        """Push the lease out while a long execution (waiting on a racing create) goes on."""
        stamp = utcnow(now)
        update = writebacks.update().where(
            writebacks.c.id == writeback_id, writebacks.c.status == WritebackStatus.SENDING.value
        )
        async with self._db.write() as conn:
            await conn.execute(update.values(lease_until=stamp + lease, updated_at=stamp))

    async def settle(
        self,
        writeback_id: int,
        outcome: Settled,
        *,
        tx: AsyncConnection | None = None,
        now: datetime | None = None,
    ) -> StoredWriteback:
        """Record how an execution ended (`queued` again: send later)."""
        values: dict[str, Any] = {
            "status": outcome.status.value,
            "drchrono_id": outcome.drchrono_id,
            "matched_existing": outcome.matched_existing,
            "error_fields": list(outcome.error_fields) or None,
            "error_class": outcome.error_class,
            "message": outcome.message,
            "lease_until": None,
            "updated_at": utcnow(now),
        }
        if outcome.drchrono_id is None:
            del values["drchrono_id"]
        async with self._db.write(tx) as conn:
            await conn.execute(
                writebacks.update().where(writebacks.c.id == writeback_id).values(values)
            )
            row = (await conn.execute(_where(writebacks.c.id == writeback_id))).one()
        return _stored(row._mapping)

    async def requeue(
        self,
        writeback_id: int,
        *,
        force: bool | None = None,
        tx: AsyncConnection | None = None,
        now: datetime | None = None,
    ) -> StoredWriteback:
        """A finished row that is not `done` goes back to the queue (the caller asked again)."""
        values: dict[str, Any] = {
            "status": WritebackStatus.QUEUED.value,
            "submissions": writebacks.c.submissions + 1,
            "lease_until": None,
            "updated_at": utcnow(now),
        }
        if force is not None:
            values["force"] = force
        ready = writebacks.c.status.in_([s.value for s in FINAL - {WritebackStatus.DONE}])
        async with self._db.write(tx) as conn:
            await conn.execute(
                writebacks.update().where(writebacks.c.id == writeback_id, ready).values(values)
            )
            row = (await conn.execute(_where(writebacks.c.id == writeback_id))).one()
        return _stored(row._mapping)

    async def set_workflow(
        self, writeback_id: int, workflow_id: str, *, tx: AsyncConnection | None = None
    ) -> None:
        update = writebacks.update().where(writebacks.c.id == writeback_id)
        async with self._db.write(tx) as conn:
            await conn.execute(update.values(workflow_id=workflow_id))

    async def list(
        self, *, app_id: int | None = None, status: WritebackStatus | None = None, limit: int = 100
    ) -> list[StoredWriteback]:
        query = _where(sa.true()).order_by(writebacks.c.id.desc()).limit(limit)
        if app_id is not None:
            query = query.where(writebacks.c.app_id == app_id)
        if status is not None:
            query = query.where(writebacks.c.status == status.value)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [_stored(row._mapping) for row in rows]


_PLAIN: Sequence[sa.Column[Any]] = [c for c in writebacks.columns if c.name != "payload"]


def _where(condition: sa.ColumnElement[bool]) -> sa.Select[Any]:
    return sa.select(*_PLAIN).where(condition)


def _stored(row: Any) -> StoredWriteback:
    values = {c.name: row[c.name] for c in _PLAIN}
    values["status"] = WritebackStatus(values["status"])
    values["changed"] = None if values["changed"] is None else tuple(values["changed"])
    values["error_fields"] = tuple(values["error_fields"] or ())
    return StoredWriteback(**values)


def _context(idempotency_key: str) -> str:
    return f"writebacks.payload:{idempotency_key}"
