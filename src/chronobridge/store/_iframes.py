"""The mirror of DrChrono's iframe registrations: which providers enabled an app's iframes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.store._common import utcnow
from chronobridge.store._database import Database
from chronobridge.store.tables import iframe_registrations

__all__ = ["IframeRegistration", "IframeRegistrations"]

_I = iframe_registrations.c


@dataclass(frozen=True, kw_only=True)
class IframeRegistration:
    app_id: int
    doctor_id: int
    connection_id: int | None
    registered_at: datetime


class IframeRegistrations:
    """The iframe_registrations table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def register(
        self,
        app_id: int,
        doctor_id: int,
        *,
        connection_id: int | None = None,
        now: datetime | None = None,
        tx: AsyncConnection | None = None,
    ) -> IframeRegistration:
        values = {
            "app_id": app_id,
            "doctor_id": doctor_id,
            "connection_id": connection_id,
            "registered_at": utcnow(now),
        }
        insert = self._db.insert(iframe_registrations).values(values)
        upsert = insert.on_conflict_do_update(
            index_elements=["app_id", "doctor_id"],
            set_={"connection_id": insert.excluded.connection_id},
        ).returning(iframe_registrations)
        async with self._db.write(tx) as conn:
            row = (await conn.execute(upsert)).one()
        return _registration(row._mapping)

    async def remove(
        self, app_id: int, doctor_id: int, *, tx: AsyncConnection | None = None
    ) -> bool:
        stmt = iframe_registrations.delete().where(_I.app_id == app_id, _I.doctor_id == doctor_id)
        async with self._db.write(tx) as conn:
            result = await conn.execute(stmt)
        return result.rowcount > 0

    async def list(self, *, app_id: int | None = None) -> list[IframeRegistration]:
        stmt = iframe_registrations.select().order_by(_I.app_id, _I.doctor_id)
        if app_id is not None:
            stmt = stmt.where(_I.app_id == app_id)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [_registration(row._mapping) for row in rows]


def _registration(row: Any) -> IframeRegistration:
    return IframeRegistration(
        app_id=row["app_id"],
        doctor_id=row["doctor_id"],
        connection_id=row["connection_id"],
        registered_at=row["registered_at"],
    )
