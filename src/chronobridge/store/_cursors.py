"""Sync cursors: one row per (app, resource), written in the same transaction as each page.

`state` is the domain cursor's JSON (`Cursor.to_json()`, plus the id of the sync run in
progress); `resume` is the client's relative next-page reference of that run, `batch` the
uuid/page of an interrupted batch backfill. The scheduling columns drive the planner: the
adaptive interval, when the resource is next due, when it last changed, how many polls in a row
found nothing, and when its deletions were last reconciled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.store._database import Database
from chronobridge.store.tables import cursors

__all__ = ["CursorRow", "Cursors"]


@dataclass(frozen=True, kw_only=True)
class CursorRow:
    app_id: int
    resource: str
    state: Mapping[str, Any] = field(default_factory=dict)
    resume: str | None = None
    batch: Mapping[str, Any] | None = None
    mode: str = "backfill"
    interval_seconds: int = 300
    next_due_at: datetime | None = None
    last_change_at: datetime | None = None
    empty_polls: int = 0
    reconciled_at: datetime | None = None
    updated_at: datetime | None = None

    def but(self, **changes: Any) -> CursorRow:
        return replace(self, **changes)


class Cursors:
    """The cursors table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(
        self, *, app_id: int, resource: str, tx: AsyncConnection | None = None, lock: bool = False
    ) -> CursorRow | None:
        """The row; `lock` takes it FOR UPDATE (PostgreSQL) inside the caller's transaction."""
        c = cursors.c
        stmt = cursors.select().where(c.app_id == app_id, c.resource == resource)
        if lock:
            stmt = stmt.with_for_update()
        async with self._db.read(tx) as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else CursorRow(**row._mapping)

    async def save(
        self, row: CursorRow, *, now: datetime, tx: AsyncConnection | None = None
    ) -> None:
        values = {
            "app_id": row.app_id,
            "resource": row.resource,
            "state": dict(row.state),
            "resume": row.resume,
            "batch": None if row.batch is None else dict(row.batch),
            "mode": row.mode,
            "interval_seconds": row.interval_seconds,
            "next_due_at": row.next_due_at,
            "last_change_at": row.last_change_at,
            "empty_polls": row.empty_polls,
            "reconciled_at": row.reconciled_at,
            "updated_at": now,
        }
        ins = self._db.insert(cursors)
        stmt = ins.on_conflict_do_update(
            index_elements=[cursors.c.app_id, cursors.c.resource],
            set_={k: v for k, v in values.items() if k not in ("app_id", "resource")},
        )
        async with self._db.write(tx) as conn:
            await conn.execute(stmt.values(values))

    async def list(
        self, *, app_id: int | None = None, tx: AsyncConnection | None = None
    ) -> list[CursorRow]:
        stmt = cursors.select().order_by(cursors.c.app_id, cursors.c.resource)
        if app_id is not None:
            stmt = stmt.where(cursors.c.app_id == app_id)
        async with self._db.read(tx) as conn:
            return [CursorRow(**row._mapping) for row in await conn.execute(stmt)]

    async def delete(self, *, app_id: int, resource: str) -> bool:
        c = cursors.c
        async with self._db.write() as conn:
            result = await conn.execute(
                cursors.delete().where(c.app_id == app_id, c.resource == resource)
            )
        return result.rowcount > 0

    async def reschedule(
        self, *, app_id: int, resource: str, next_due_at: datetime, now: datetime
    ) -> None:
        """Move only the due time (a budget pause, a failed run)."""
        c = cursors.c
        async with self._db.write() as conn:
            await conn.execute(
                cursors.update()
                .where(c.app_id == app_id, c.resource == resource)
                .values(next_due_at=next_due_at, updated_at=now)
            )

    async def due_count(self, *, now: datetime) -> int:
        stmt = sa.select(sa.func.count()).where(cursors.c.next_due_at <= now)
        async with self._db.read() as conn:
            return int((await conn.execute(stmt)).scalar_one())
