"""The practice model: one row per (app, model, external id), mapped values encrypted.

`data` is the JSON `{"values": {...}, "custom": {...}}` of a mapped row (dates as ISO text),
encrypted and bound to (app, model, external id). The provider, patient and location ids stay
in plain columns so that rows can be joined and filtered without decrypting anything.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.store._bulk import BulkWrite
from chronobridge.store._crypto import KeyRing
from chronobridge.store._database import Database
from chronobridge.store._records import chunks
from chronobridge.store.tables import model_rows

__all__ = ["ModelRow", "ModelRowWrite", "ModelRows", "model_context"]


def model_context(app_id: int, model: str, external_id: str) -> str:
    return f"model_rows.data:{app_id}:{model}:{external_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRowWrite:
    model: str
    external_id: str
    resource: str
    record_id: int
    data: str
    """`{"values": ..., "custom": ...}` as JSON text."""
    mapping_version: int
    mapping_digest: str
    provider_external_id: str | None = None
    patient_external_id: str | None = None
    location_external_id: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRow:
    id: int
    app_id: int
    model: str
    external_id: str
    resource: str
    record_id: int
    values: dict[str, Any]
    custom: dict[str, Any]
    mapping_version: int
    mapping_digest: str
    provider_external_id: str | None
    patient_external_id: str | None
    location_external_id: str | None
    updated_at: datetime | None
    deleted_at: datetime | None


class ModelRows:
    """The model_rows table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(
        self, tx: AsyncConnection, *, app_id: int, rows: Sequence[ModelRowWrite]
    ) -> dict[tuple[str, str], int]:
        """Insert or replace; (model, external id) → row id."""
        if not rows:
            return {}
        keys = self._db.keys
        values = [_values(keys, app_id, row) for row in rows]
        await _UPSERT.run(self._db, tx, values)
        return await self._ids(tx, app_id, rows)

    async def _ids(
        self, tx: AsyncConnection, app_id: int, rows: Sequence[ModelRowWrite]
    ) -> dict[tuple[str, str], int]:
        c, found = model_rows.c, {}
        wanted = {(row.model, row.external_id) for row in rows}
        for model in {row.model for row in rows}:
            ids = [row.external_id for row in rows if row.model == model]
            for part in chunks(ids):
                stmt = sa.select(c.id, c.model, c.external_id).where(
                    c.app_id == app_id, c.model == model, c.external_id.in_(part)
                )
                found.update({(m, e): i for i, m, e in await tx.execute(stmt)})
        return {key: row_id for key, row_id in found.items() if key in wanted}

    async def mark_deleted(
        self, tx: AsyncConnection, *, record_ids: Sequence[int], now: datetime
    ) -> int:
        done = 0
        for part in chunks(record_ids):
            stmt = (
                model_rows.update()
                .where(model_rows.c.record_id.in_(part), model_rows.c.deleted_at.is_(None))
                .values(deleted_at=now)
            )
            done += (await tx.execute(stmt)).rowcount
        return done

    async def get(
        self, *, app_id: int, model: str, external_id: str, tx: AsyncConnection | None = None
    ) -> ModelRow | None:
        c = model_rows.c
        stmt = model_rows.select().where(
            c.app_id == app_id, c.model == model, c.external_id == external_id
        )
        async with self._db.read(tx) as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _row(self._db.keys, row._mapping)

    async def for_record(
        self, record_id: int, *, tx: AsyncConnection | None = None
    ) -> list[ModelRow]:
        """Every row mapped from one raw record (one per model that reads its resource)."""
        stmt = model_rows.select().where(model_rows.c.record_id == record_id)
        async with self._db.read(tx) as conn:
            rows = (await conn.execute(stmt.order_by(model_rows.c.model))).all()
        return [_row(self._db.keys, row._mapping) for row in rows]

    async def page(
        self,
        *,
        app_id: int,
        model: str,
        after_id: int = 0,
        limit: int = 500,
        include_deleted: bool = False,
        tx: AsyncConnection | None = None,
    ) -> list[ModelRow]:
        c = model_rows.c
        stmt = model_rows.select().where(c.app_id == app_id, c.model == model, c.id > after_id)
        if not include_deleted:
            stmt = stmt.where(c.deleted_at.is_(None))
        async with self._db.read(tx) as conn:
            rows = (await conn.execute(stmt.order_by(c.id).limit(limit))).all()
        return [_row(self._db.keys, row._mapping) for row in rows]

    async def count(self, *, app_id: int, model: str) -> int:
        c = model_rows.c
        stmt = sa.select(sa.func.count()).where(
            c.app_id == app_id, c.model == model, c.deleted_at.is_(None)
        )
        async with self._db.read() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def outdated(
        self, *, app_id: int, model: str, digest: str, limit: int = 500
    ) -> list[int]:
        """Record ids whose rows a mapping other than `digest` produced (to re-map them)."""
        c = model_rows.c
        stmt = (
            sa.select(c.record_id)
            .where(c.app_id == app_id, c.model == model, c.mapping_digest != digest)
            .order_by(c.record_id)
            .limit(limit)
        )
        async with self._db.read() as conn:
            return list((await conn.execute(stmt)).scalars())


def _upsert_statement(db: Database) -> Any:
    ins = db.insert(model_rows)
    new, c = ins.excluded, model_rows.c
    updated = {
        name: getattr(new, name)
        for name in (
            "resource",
            "record_id",
            "data",
            "mapping_version",
            "mapping_digest",
            "provider_external_id",
            "patient_external_id",
            "location_external_id",
            "updated_at",
        )
    }
    return ins.on_conflict_do_update(
        index_elements=[c.app_id, c.model, c.external_id],
        set_={**updated, "deleted_at": None},
    )


_UPSERT = BulkWrite(_upsert_statement)


def _values(keys: KeyRing, app_id: int, row: ModelRowWrite) -> dict[str, Any]:
    context = model_context(app_id, row.model, row.external_id)
    return {
        "app_id": app_id,
        "model": row.model,
        "external_id": row.external_id,
        "resource": row.resource,
        "record_id": row.record_id,
        "data": keys.encrypt(row.data, context=context),
        "mapping_version": row.mapping_version,
        "mapping_digest": row.mapping_digest,
        "provider_external_id": row.provider_external_id,
        "patient_external_id": row.patient_external_id,
        "location_external_id": row.location_external_id,
        "updated_at": row.updated_at,
        "deleted_at": None,
    }


def _row(keys: KeyRing, row: sa.RowMapping) -> ModelRow:
    context = model_context(row["app_id"], row["model"], row["external_id"])
    data = json.loads(keys.decrypt(row["data"], context=context))
    fields = {k: row[k] for k in row if k != "data"}
    return ModelRow(values=data.get("values", {}), custom=data.get("custom", {}), **fields)
