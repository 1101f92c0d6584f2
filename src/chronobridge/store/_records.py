"""Raw DrChrono records: one row per (app, resource, id), the JSON encrypted and bound to it.

The sync engine writes in bulk inside its own transaction (`tx`): `versions` reads what is
stored for a batch of ids in one query, `upsert` writes many rows in one statement. The upsert
re-checks the version in the database (`ON CONFLICT … DO UPDATE … WHERE`), so two writers that
race (a webhook fetch and a poll) can never put an older version over a newer one: the row
only changes when the incoming version is newer, or equally new with other content.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.store._bulk import BulkWrite
from chronobridge.store._crypto import KeyRing
from chronobridge.store._database import Database
from chronobridge.store.tables import records

__all__ = [
    "RecordWrite",
    "Records",
    "StoredRecord",
    "StoredVersion",
    "chunks",
    "record_context",
]

CHUNK = 500  # ids per IN (...) list: well under every driver's parameter limit


def record_context(app_id: int, resource: str, external_id: str) -> str:
    """The encryption label of one record's payload."""
    return f"records.payload:{app_id}:{resource}:{external_id}"


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredVersion:
    id: int
    updated_at: datetime | None
    digest: str
    deleted_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordWrite:
    """One record to store: `payload` is its canonical JSON text, `digest` the text's SHA-256."""

    external_id: str
    updated_at: datetime | None
    digest: str
    payload: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredRecord:
    id: int
    app_id: int
    resource: str
    external_id: str
    updated_at: datetime | None
    digest: str
    payload: dict[str, Any]
    deleted_at: datetime | None
    first_seen_at: datetime
    last_seen_at: datetime
    fetched_by: int | None


class Records:
    """The records table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def versions(
        self, tx: AsyncConnection, *, app_id: int, resource: str, external_ids: Sequence[str]
    ) -> dict[str, StoredVersion]:
        """What is stored for these ids (missing ids are absent from the answer)."""
        c = records.c
        found: dict[str, StoredVersion] = {}
        for part in chunks(external_ids):
            stmt = sa.select(c.external_id, c.id, c.updated_at, c.digest, c.deleted_at).where(
                c.app_id == app_id, c.resource == resource, c.external_id.in_(part)
            )
            for row in await tx.execute(stmt):
                found[row[0]] = StoredVersion(
                    id=row[1], updated_at=row[2], digest=row[3], deleted_at=row[4]
                )
        return found

    async def upsert(
        self,
        tx: AsyncConnection,
        *,
        app_id: int,
        resource: str,
        rows: Sequence[RecordWrite],
        now: datetime,
        fetched_by: int | None,
    ) -> dict[str, int]:
        """Insert or update; returns external id → row id of the rows actually written.

        One executemany without RETURNING (with RETURNING, drivers run it row by row; on
        SQLite straight to the driver, see `BulkWrite`), then one read of the ids: a row whose
        digest is not ours lost a race to a newer version."""
        if not rows:
            return {}
        keys = self._db.keys
        values = [_values(keys, app_id, resource, row, now, fetched_by) for row in rows]
        await _UPSERT.run(self._db, tx, values)
        wanted = {row.external_id: row.digest for row in rows}
        c, written = records.c, dict[str, int]()
        for part in chunks(list(wanted)):
            stmt = sa.select(c.external_id, c.id, c.digest).where(  # no times to parse
                c.app_id == app_id, c.resource == resource, c.external_id.in_(part)
            )
            for external_id, row_id, digest in await tx.execute(stmt):
                if digest == wanted[external_id]:  # not ours: a newer version won a race
                    written[external_id] = row_id
        return written

    async def touch(self, tx: AsyncConnection, *, ids: Sequence[int], now: datetime) -> None:
        """Seen again, unchanged."""
        for part in chunks(ids):
            await tx.execute(
                records.update().where(records.c.id.in_(part)).values(last_seen_at=now)
            )

    async def mark_deleted(
        self,
        tx: AsyncConnection,
        *,
        app_id: int,
        resource: str,
        external_ids: Sequence[str],
        now: datetime,
    ) -> dict[str, int]:
        """Flag stored, not yet deleted records; external id → row id of those flagged."""
        c, done = records.c, {}
        for part in chunks(external_ids):
            stmt = (
                records.update()
                .where(c.app_id == app_id, c.resource == resource, c.external_id.in_(part))
                .where(c.deleted_at.is_(None))
                .values(deleted_at=now)
                .returning(c.external_id, c.id)
            )
            done.update({row[0]: row[1] for row in await tx.execute(stmt)})
        return done

    async def get(
        self, *, app_id: int, resource: str, external_id: str, tx: AsyncConnection | None = None
    ) -> StoredRecord | None:
        c = records.c
        stmt = records.select().where(
            c.app_id == app_id, c.resource == resource, c.external_id == external_id
        )
        async with self._db.read(tx) as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _stored(self._db.keys, row._mapping)

    async def by_ids(
        self,
        *,
        app_id: int,
        resource: str,
        external_ids: Sequence[str],
        tx: AsyncConnection | None = None,
    ) -> list[StoredRecord]:
        """The stored records among these ids (decrypted), deleted ones included."""
        c = records.c
        found: list[StoredRecord] = []
        async with self._db.read(tx) as conn:
            for part in chunks(external_ids):
                stmt = records.select().where(
                    c.app_id == app_id, c.resource == resource, c.external_id.in_(part)
                )
                rows = (await conn.execute(stmt)).all()
                found.extend(_stored(self._db.keys, row._mapping) for row in rows)
        return found

    async def page(
        self,
        *,
        app_id: int,
        resource: str,
        after_id: int = 0,
        limit: int = 500,
        include_deleted: bool = False,
        tx: AsyncConnection | None = None,
    ) -> list[StoredRecord]:
        """Records in row order after `after_id` (keyset paging; decrypted)."""
        c = records.c
        stmt = records.select().where(c.app_id == app_id, c.resource == resource, c.id > after_id)
        if not include_deleted:
            stmt = stmt.where(c.deleted_at.is_(None))
        stmt = stmt.order_by(c.id).limit(limit)
        async with self._db.read(tx) as conn:
            rows = (await conn.execute(stmt)).all()
        return [_stored(self._db.keys, row._mapping) for row in rows]

    async def live_ids(
        self, *, app_id: int, resource: str, tx: AsyncConnection | None = None
    ) -> set[str]:
        """Ids of the stored records not marked deleted (for reconciliation)."""
        c = records.c
        stmt = sa.select(c.external_id).where(
            c.app_id == app_id, c.resource == resource, c.deleted_at.is_(None)
        )
        async with self._db.read(tx) as conn:
            return set((await conn.execute(stmt)).scalars())

    async def unseen_since(
        self,
        *,
        app_id: int,
        resource: str,
        started_at: datetime,
        tx: AsyncConnection | None = None,
    ) -> tuple[set[str], set[str]]:
        """For a complete pass that began at `started_at`: (live ids stored before it, those of
        them the pass did not see). Seeing a record sets its `last_seen_at`."""
        c = records.c
        stmt = sa.select(c.external_id, c.last_seen_at).where(
            c.app_id == app_id,
            c.resource == resource,
            c.deleted_at.is_(None),
            c.first_seen_at < started_at,
        )
        stored: set[str] = set()
        unseen: set[str] = set()
        async with self._db.read(tx) as conn:
            for external_id, last_seen in await conn.execute(stmt):
                stored.add(external_id)
                if last_seen < started_at:
                    unseen.add(external_id)
        return stored, unseen

    async def count(self, *, app_id: int, resource: str, include_deleted: bool = False) -> int:
        c = records.c
        stmt = sa.select(sa.func.count()).where(c.app_id == app_id, c.resource == resource)
        if not include_deleted:
            stmt = stmt.where(c.deleted_at.is_(None))
        async with self._db.read() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def digests(self, *, app_id: int, resource: str) -> dict[str, str]:
        """External id → digest of every live record (tests and reconciliation reports)."""
        c = records.c
        stmt = sa.select(c.external_id, c.digest).where(
            c.app_id == app_id, c.resource == resource, c.deleted_at.is_(None)
        )
        async with self._db.read() as conn:
            return {row[0]: row[1] for row in await conn.execute(stmt)}


def _upsert_statement(db: Database) -> Any:
    ins = db.insert(records)
    new, old = ins.excluded, records.c
    same_time = sa.and_(new.updated_at == old.updated_at, new.digest != old.digest)
    unordered = sa.and_(
        sa.or_(new.updated_at.is_(None), old.updated_at.is_(None)), new.digest != old.digest
    )
    # A record stored as deleted comes back with the same content: a restore (sync.decide).
    restored = sa.and_(old.deleted_at.is_not(None), new.digest == old.digest)
    newer = sa.or_(new.updated_at > old.updated_at, same_time, unordered, restored)
    return ins.on_conflict_do_update(
        index_elements=[old.app_id, old.resource, old.external_id],
        set_={
            "updated_at": new.updated_at,
            "digest": new.digest,
            "payload": new.payload,
            "deleted_at": None,
            "last_seen_at": new.last_seen_at,
            "fetched_by": sa.func.coalesce(new.fetched_by, old.fetched_by),
        },
        where=newer,
    )


_UPSERT = BulkWrite(_upsert_statement)


def _values(
    keys: KeyRing,
    app_id: int,
    resource: str,
    row: RecordWrite,
    now: datetime,
    fetched_by: int | None,
) -> dict[str, Any]:
    context = record_context(app_id, resource, row.external_id)
    return {
        "app_id": app_id,
        "resource": resource,
        "external_id": row.external_id,
        "updated_at": row.updated_at,
        "digest": row.digest,
        "payload": keys.encrypt(row.payload, context=context),
        "deleted_at": None,
        "first_seen_at": now,
        "last_seen_at": now,
        "fetched_by": fetched_by,
    }


def _stored(keys: KeyRing, row: sa.RowMapping) -> StoredRecord:
    context = record_context(row["app_id"], row["resource"], row["external_id"])
    payload = json.loads(keys.decrypt(row["payload"], context=context))
    return StoredRecord(
        id=row["id"],
        app_id=row["app_id"],
        resource=row["resource"],
        external_id=row["external_id"],
        updated_at=row["updated_at"],
        digest=row["digest"],
        payload=payload,
        deleted_at=row["deleted_at"],
        first_seen_at=row["first_seen_at"],
        last_seen_at=row["last_seen_at"],
        fetched_by=row["fetched_by"],
    )
