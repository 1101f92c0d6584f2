"""The webhook inbox: reading and updating stored deliveries (the webhook log, the processing
job, reprocessing). Writing new deliveries in batches is `_inbox_writer` (the ingress's hot
path, on a sync connection in its own thread).

The raw body is encrypted under the label `webhook_deliveries.payload:<app>:<delivery id>`;
`Inbox.payload` is the only way back to it, and `StoredDelivery` never carries it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.store._common import utcnow
from chronobridge.store._crypto import KeyRing
from chronobridge.store._database import Database
from chronobridge.store.tables import webhook_deliveries as wd

__all__ = ["Inbox", "StoredDelivery", "encrypt_payload", "payload_context"]

_FIELDS = tuple(c.name for c in wd.columns if c.name != "payload")


def payload_context(app_id: int, delivery_id: str) -> str:
    return f"webhook_deliveries.payload:{app_id}:{delivery_id}"


def encrypt_payload(keys: KeyRing, app_id: int, delivery_id: str, body: bytes) -> str:
    return keys.encrypt_bytes(body, context=payload_context(app_id, delivery_id))


@dataclass(frozen=True, kw_only=True)
class StoredDelivery:
    """One inbox row, without its payload."""

    id: int
    app_id: int
    delivery_id: str
    event: str
    received_at: datetime
    verified: bool
    signature_mode: str
    payload_bytes: int
    object_id: str | None
    resource: str | None
    status: str
    attempts: int
    repeats: int
    processed_at: datetime | None
    latency_ms: float | None
    changes: int | None
    error_class: str | None
    workflow_id: str | None


def _delivery(row: Any) -> StoredDelivery:
    return StoredDelivery(**{name: row[name] for name in _FIELDS})


class Inbox:
    """The webhook_deliveries table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, row_id: int, *, tx: AsyncConnection | None = None) -> StoredDelivery | None:
        return await self._one(wd.c.id == row_id, tx)

    async def many(self, row_ids: Sequence[int]) -> list[StoredDelivery]:
        """These rows (those that exist), in id order."""
        if not row_ids:
            return []
        async with self._db.read() as conn:
            query = sa.select(*_columns()).where(wd.c.id.in_(list(row_ids))).order_by(wd.c.id)
            return [_delivery(row._mapping) for row in (await conn.execute(query)).all()]

    async def by_delivery_id(
        self, delivery_id: str, *, app_id: int | None = None
    ) -> list[StoredDelivery]:
        """Every app's row for this delivery id (usually one), or only `app_id`'s."""
        where = [wd.c.delivery_id == delivery_id]
        if app_id is not None:
            where.append(wd.c.app_id == app_id)
        return await self._many(sa.and_(*where), limit=100)

    async def payload(self, delivery: StoredDelivery) -> bytes:
        """The raw body as DrChrono sent it (decrypted; handle as patient data)."""
        async with self._db.read() as conn:
            token = (
                await conn.execute(sa.select(wd.c.payload).where(wd.c.id == delivery.id))
            ).scalar_one()
        context = payload_context(delivery.app_id, delivery.delivery_id)
        return self._db.keys.decrypt_bytes(token, context=context)

    async def recent(
        self,
        *,
        statuses: Sequence[str] = (),
        app_id: int | None = None,
        limit: int = 50,
        before_id: int | None = None,
        received_before: datetime | None = None,
    ) -> list[StoredDelivery]:
        """Newest first."""
        where: list[sa.ColumnElement[bool]] = []
        if statuses:
            where.append(wd.c.status.in_(list(statuses)))
        if received_before is not None:
            where.append(wd.c.received_at < received_before)
        if app_id is not None:
            where.append(wd.c.app_id == app_id)
        if before_id is not None:
            where.append(wd.c.id < before_id)
        return await self._many(sa.and_(sa.true(), *where), limit=limit)

    async def counts(self, *, app_id: int | None = None) -> dict[str, int]:
        query = sa.select(wd.c.status, sa.func.count()).group_by(wd.c.status)
        if app_id is not None:
            query = query.where(wd.c.app_id == app_id)
        async with self._db.read() as conn:
            return {status: count for status, count in (await conn.execute(query)).all()}

    async def begin_attempt(self, row_id: int) -> StoredDelivery | None:
        """A job tries the delivery (once more): status processing, one more attempt; None
        when the row is gone. One statement: it is on every delivery's path."""
        return await self._update(row_id, {"status": "processing", "attempts": wd.c.attempts + 1})

    async def finish(
        self,
        row_id: int,
        *,
        status: str,
        changes: int | None = None,
        error_class: str | None = None,
        now: datetime | None = None,
    ) -> StoredDelivery | None:
        """The job's outcome; latency is counted from reception to now."""
        stamp = utcnow(now)
        current = await self.get(row_id)
        if current is None:
            return None
        latency = max((stamp - current.received_at).total_seconds() * 1000, 0.0)
        values = {
            "status": status,
            "changes": changes,
            "error_class": error_class,
            "processed_at": stamp,
            "latency_ms": round(latency, 1),
        }
        return await self._update(row_id, values)

    async def requeue(
        self, row_id: int, *, workflow_id: str, tx: AsyncConnection | None = None
    ) -> StoredDelivery | None:
        """Back to `received` under a new job (reprocessing); the caller enqueues in `tx`."""
        values = {"status": "received", "workflow_id": workflow_id, "error_class": None}
        return await self._update(row_id, values, tx=tx)

    async def _update(
        self, row_id: int, values: dict[str, Any], *, tx: AsyncConnection | None = None
    ) -> StoredDelivery | None:
        stmt = wd.update().where(wd.c.id == row_id).values(values).returning(*_columns())
        async with self._db.write(tx) as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _delivery(row._mapping)

    async def _one(
        self, where: sa.ColumnElement[bool], tx: AsyncConnection | None
    ) -> StoredDelivery | None:
        async with self._db.read(tx) as conn:
            row = (await conn.execute(sa.select(*_columns()).where(where))).first()
        return None if row is None else _delivery(row._mapping)

    async def _many(self, where: sa.ColumnElement[bool], *, limit: int) -> list[StoredDelivery]:
        query = sa.select(*_columns()).where(where).order_by(wd.c.id.desc()).limit(limit)
        async with self._db.read() as conn:
            return [_delivery(row._mapping) for row in (await conn.execute(query)).all()]


def _columns() -> list[sa.Column[Any]]:
    return [wd.c[name] for name in _FIELDS]
