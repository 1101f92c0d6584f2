"""Refused webhook requests, as counts: per minute, application, reason and event name.

The ingress aggregates refusals in memory and writes each finished minute once (a flood of
forgeries is a handful of rows, see `ingress._refusals`); `Refusals` writes and reads them.
Rows carry reason codes and names DrChrono sends, never anything else from a request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from chronobridge.store._database import Database
from chronobridge.store.tables import webhook_refusals as wr

__all__ = ["RefusalCount", "Refusals"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RefusalCount:
    minute: datetime
    app_id: int | None
    reason: str
    event: str | None
    count: int


class Refusals:
    """The webhook_refusals table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, counts: Sequence[RefusalCount]) -> None:
        if not counts:
            return
        rows = [
            {"minute": c.minute, "app_id": c.app_id, "reason": c.reason, "event": c.event,
             "count": c.count}
            for c in counts
        ]  # fmt: skip
        async with self._db.write() as conn:
            await conn.execute(wr.insert(), rows)

    async def recent(self, *, app_id: int | None = None, limit: int = 50) -> list[RefusalCount]:
        """Newest minute first."""
        query = sa.select(wr.c.minute, wr.c.app_id, wr.c.reason, wr.c.event, wr.c.count)
        if app_id is not None:
            query = query.where(wr.c.app_id == app_id)
        query = query.order_by(wr.c.minute.desc(), wr.c.id.desc()).limit(limit)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [RefusalCount(**row._mapping) for row in rows]
