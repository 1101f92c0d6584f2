"""Sync runs: one row per pass over a resource (backfill, incremental, scan, reconcile).

A run interrupted by a crash or a budget pause stays the same row: it is picked up again
(status back to `running`) and its counters keep adding up, so `calls` is what the whole run
cost, retries included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.store._database import Database
from chronobridge.store.tables import sync_runs

__all__ = ["COUNTERS", "RunRow", "SyncRuns"]

COUNTERS = ("pages", "records", "created", "updated", "unchanged", "deleted", "failed", "calls")


@dataclass(frozen=True, kw_only=True)
class RunRow:
    id: int
    app_id: int
    connection_id: int | None
    resource: str
    mode: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    pages: int
    records: int
    created: int
    updated: int
    unchanged: int
    deleted: int
    failed: int
    calls: int
    error_class: str | None
    workflow_id: str | None


class SyncRuns:
    """The sync_runs table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def start(
        self,
        *,
        app_id: int,
        connection_id: int | None,
        resource: str,
        mode: str,
        now: datetime,
        workflow_id: str | None = None,
        tx: AsyncConnection | None = None,
    ) -> int:
        values = {
            "app_id": app_id,
            "connection_id": connection_id,
            "resource": resource,
            "mode": mode,
            "status": "running",
            "started_at": now,
            "workflow_id": workflow_id,
        }
        async with self._db.write(tx) as conn:
            result = await conn.execute(sync_runs.insert().values(values).returning(sync_runs.c.id))
        return int(result.scalar_one())

    async def resume(
        self, run_id: int, *, connection_id: int | None, workflow_id: str | None
    ) -> None:
        values: dict[str, object] = {"status": "running", "finished_at": None, "error_class": None}
        values["connection_id"] = connection_id
        if workflow_id is not None:
            values["workflow_id"] = workflow_id
        async with self._db.write() as conn:
            await conn.execute(sync_runs.update().where(sync_runs.c.id == run_id).values(values))

    async def add(self, tx: AsyncConnection, run_id: int, counts: Mapping[str, int]) -> None:
        """Add to the counters (inside the page's transaction)."""
        changes = {name: sync_runs.c[name] + int(n) for name, n in counts.items() if n}
        if changes:
            await tx.execute(sync_runs.update().where(sync_runs.c.id == run_id).values(changes))

    async def finish(
        self,
        run_id: int,
        *,
        status: str,
        now: datetime,
        error_class: str | None = None,
        tx: AsyncConnection | None = None,
    ) -> None:
        values = {"status": status, "finished_at": now, "error_class": error_class}
        async with self._db.write(tx) as conn:
            await conn.execute(sync_runs.update().where(sync_runs.c.id == run_id).values(values))

    async def get(self, run_id: int, *, tx: AsyncConnection | None = None) -> RunRow | None:
        async with self._db.read(tx) as conn:
            row = (await conn.execute(sync_runs.select().where(sync_runs.c.id == run_id))).first()
        return None if row is None else RunRow(**row._mapping)

    async def recent(
        self, *, app_id: int | None = None, resource: str | None = None, limit: int = 50
    ) -> list[RunRow]:
        c = sync_runs.c
        stmt = sync_runs.select().order_by(c.id.desc()).limit(limit)
        if app_id is not None:
            stmt = stmt.where(c.app_id == app_id)
        if resource is not None:
            stmt = stmt.where(c.resource == resource)
        async with self._db.read() as conn:
            return [RunRow(**row._mapping) for row in await conn.execute(stmt)]

    async def totals(self, *, app_id: int, resource: str) -> dict[str, int]:
        """Counters summed over every run of the resource (tests, reports)."""
        c = sync_runs.c
        stmt = sa.select(*(sa.func.coalesce(sa.func.sum(c[n]), 0) for n in COUNTERS)).where(
            c.app_id == app_id, c.resource == resource
        )
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).one()
        return {name: int(value) for name, value in zip(COUNTERS, row, strict=True)}
