"""The mapping error queue: one row per (app, resource, record, model) that failed to map.

A row names the model, field and rule that failed and the mapping version, never the value.
A repeated failure updates the row (attempts + 1); a later successful mapping of the same
record resolves it. The raw record is always stored, so nothing is lost: `chronobridge errors
retry` re-maps the stored records after the mapping was fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.store._database import Database
from chronobridge.store._records import chunks
from chronobridge.store.tables import sync_errors

__all__ = ["ErrorStatus", "SyncError", "SyncErrorWrite", "SyncErrors"]


class ErrorStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncErrorWrite:
    resource: str
    external_id: str
    model: str
    field: str
    rule: str
    reason: str
    """The error's message: names the model, field and rule, never the value."""
    error_class: str
    mapping_version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncError(SyncErrorWrite):
    id: int
    app_id: int
    attempts: int
    first_seen_at: datetime
    last_seen_at: datetime
    status: ErrorStatus
    resolved_at: datetime | None


class SyncErrors:
    """The sync_errors table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self, tx: AsyncConnection, *, app_id: int, errors: Sequence[SyncErrorWrite], now: datetime
    ) -> None:
        if not errors:
            return
        rows = [
            {
                **_fields(error),
                "app_id": app_id,
                "attempts": 1,
                "first_seen_at": now,
                "last_seen_at": now,
                "status": ErrorStatus.OPEN.value,
                "resolved_at": None,
            }
            for error in errors
        ]
        await tx.execute(self._record_statement(errors[0]), rows)

    def _record_statement(self, first: SyncErrorWrite) -> Any:
        ins = self._db.insert(sync_errors)
        new, c = ins.excluded, sync_errors.c
        return ins.on_conflict_do_update(
            index_elements=[c.app_id, c.resource, c.external_id, c.model],
            set_={
                **{name: getattr(new, name) for name in _fields(first) if name != "model"},
                "attempts": c.attempts + 1,
                "last_seen_at": new.last_seen_at,
                "status": ErrorStatus.OPEN.value,
                "resolved_at": None,
            },
        )

    async def resolve(
        self,
        tx: AsyncConnection,
        *,
        app_id: int,
        resource: str,
        model: str,
        external_ids: Sequence[str],
        now: datetime,
    ) -> int:
        """The records mapped fine now: their open errors for `model` are resolved."""
        c, done = sync_errors.c, 0
        for part in chunks(external_ids):
            stmt = (
                sync_errors.update()
                .where(c.app_id == app_id, c.resource == resource, c.model == model)
                .where(c.status == ErrorStatus.OPEN.value, c.external_id.in_(part))
                .values(status=ErrorStatus.RESOLVED.value, resolved_at=now)
            )
            done += (await tx.execute(stmt)).rowcount
        return done

    async def has_open(self, tx: AsyncConnection, *, app_id: int, resource: str) -> bool:
        c = sync_errors.c
        stmt = (
            sa.select(c.id)
            .where(c.app_id == app_id, c.resource == resource, c.status == ErrorStatus.OPEN.value)
            .limit(1)
        )
        return (await tx.execute(stmt)).first() is not None

    async def list(
        self,
        *,
        app_id: int | None = None,
        status: ErrorStatus | None = ErrorStatus.OPEN,
        resource: str | None = None,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[SyncError]:
        c = sync_errors.c
        stmt = sync_errors.select().where(c.id > after_id)
        if app_id is not None:
            stmt = stmt.where(c.app_id == app_id)
        if status is not None:
            stmt = stmt.where(c.status == status.value)
        if resource is not None:
            stmt = stmt.where(c.resource == resource)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt.order_by(c.id).limit(limit))).all()
        return [_error(row._mapping) for row in rows]

    async def set_status(
        self, error_ids: Sequence[int], status: ErrorStatus, *, now: datetime
    ) -> int:
        resolved_at = None if status is ErrorStatus.OPEN else now
        async with self._db.write() as conn:
            result = await conn.execute(
                sync_errors.update()
                .where(sync_errors.c.id.in_(list(error_ids)))
                .values(status=status.value, resolved_at=resolved_at)
            )
        return result.rowcount

    async def counts(self, *, app_id: int | None = None) -> dict[str, int]:
        """Open errors per resource."""
        c = sync_errors.c
        stmt = sa.select(c.resource, sa.func.count()).where(c.status == ErrorStatus.OPEN.value)
        if app_id is not None:
            stmt = stmt.where(c.app_id == app_id)
        async with self._db.read() as conn:
            rows = await conn.execute(stmt.group_by(c.resource))
            return {row[0]: int(row[1]) for row in rows}


def _fields(error: SyncErrorWrite) -> dict[str, object]:
    return {
        "resource": error.resource,
        "external_id": error.external_id,
        "model": error.model,
        "field": error.field[:200],
        "rule": error.rule[:64],
        "reason": error.reason[:300],
        "error_class": error.error_class[:100],
        "mapping_version": error.mapping_version,
    }


def _error(row: sa.RowMapping) -> SyncError:
    values = dict(row)
    values["status"] = ErrorStatus(values["status"])
    return SyncError(**values)
