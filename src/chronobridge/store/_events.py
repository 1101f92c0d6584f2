"""The change-event outbox: one row per change (`domain.events.ChangeEvent`), for automations.

Events are inserted in the same transaction as the rows they describe, with
`ON CONFLICT (dedupe_key) DO NOTHING`: the same change reported by a webhook and by a poll, or
read twice on the inclusive boundary day, is one event. Consumers read in id order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.domain.events import ChangeEvent
from chronobridge.store._bulk import BulkWrite
from chronobridge.store._database import Database
from chronobridge.store.tables import change_events

__all__ = ["ChangeEvents", "StoredEvent"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredEvent:
    id: int
    app_id: int
    dedupe_key: str
    resource: str
    external_id: str
    kind: str
    source: str
    updated_at: datetime | None
    detected_at: datetime
    connection_id: int | None
    delivery_id: str | None


class ChangeEvents:
    """The change_events table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def insert(
        self, tx: AsyncConnection, *, app_id: int, events: Sequence[ChangeEvent]
    ) -> int:
        """Insert the events not already there; how many were new."""
        if not events:
            return 0
        rows = [*{event.dedupe_key: _values(app_id, event) for event in events}.values()]
        return await _INSERT.run(self._db, tx, rows)

    async def after(
        self,
        *,
        app_id: int,
        after_id: int = 0,
        limit: int = 500,
        resource: str | None = None,
        tx: AsyncConnection | None = None,
    ) -> list[StoredEvent]:
        """Events in order, after `after_id` (a consumer's position)."""
        c = change_events.c
        stmt = change_events.select().where(c.app_id == app_id, c.id > after_id)
        if resource is not None:
            stmt = stmt.where(c.resource == resource)
        async with self._db.read(tx) as conn:
            rows = (await conn.execute(stmt.order_by(c.id).limit(limit))).all()
        return [StoredEvent(**row._mapping) for row in rows]

    async def count(self, *, app_id: int, resource: str | None = None) -> int:
        c = change_events.c
        stmt = sa.select(sa.func.count()).where(c.app_id == app_id)
        if resource is not None:
            stmt = stmt.where(c.resource == resource)
        async with self._db.read() as conn:
            return int((await conn.execute(stmt)).scalar_one())


def _insert_statement(db: Database) -> Any:
    ins = db.insert(change_events)
    return ins.on_conflict_do_nothing(index_elements=[change_events.c.dedupe_key])


_INSERT = BulkWrite(_insert_statement, counted=change_events.c.id)


def _values(app_id: int, event: ChangeEvent) -> dict[str, object]:
    return {
        "app_id": app_id,
        "dedupe_key": event.dedupe_key,
        "resource": event.resource,
        "external_id": event.record_id,
        "kind": event.kind.value,
        "source": event.source.value,
        "updated_at": event.updated_at,
        "detected_at": event.detected_at,
        "connection_id": int(event.connection_id) if event.connection_id else None,
        "delivery_id": event.delivery_id,
    }
