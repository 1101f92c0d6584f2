"""Deletions: a webhook `*_DELETE`, or ids a reconciliation pass no longer finds in DrChrono.

    await mark_deleted(db, app_id=1, resource="appointments", external_ids=["143400007"],
                       source=ChangeSource.WEBHOOK, delivery_id="…")

The raw record and its model rows are flagged (`deleted_at`), never removed, and one DELETED
change event per id is inserted in the same transaction (its dedupe key has no `updated_at`, so
a webhook and the reconciliation pass that both see a deletion make one event). Ids the store
never held still get their event: the deletion happened in DrChrono.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.domain.events import ChangeEvent, ChangeKind, ChangeSource
from chronobridge.store import ChangeEvents, Database, ModelRows, Records

__all__ = ["DeleteReport", "mark_deleted"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteReport:
    requested: int
    marked: int
    """Stored records newly flagged as deleted."""
    model_rows: int
    events: int


async def mark_deleted(
    db: Database,
    *,
    app_id: int,
    resource: str,
    external_ids: Sequence[str],
    source: ChangeSource,
    connection_id: int | None = None,
    delivery_id: str | None = None,
    now: datetime | None = None,
    tx: AsyncConnection | None = None,
) -> DeleteReport:
    now = now or datetime.now(UTC)
    ids = list(dict.fromkeys(str(i) for i in external_ids))
    async with db.write(tx) as conn:
        marked = await Records(db).mark_deleted(
            conn, app_id=app_id, resource=resource, external_ids=ids, now=now
        )
        rows = await ModelRows(db).mark_deleted(conn, record_ids=list(marked.values()), now=now)
        events = [_event(app_id, resource, i, source, connection_id, delivery_id, now) for i in ids]
        inserted = await ChangeEvents(db).insert(conn, app_id=app_id, events=events)
    return DeleteReport(requested=len(ids), marked=len(marked), model_rows=rows, events=inserted)


def _event(
    app_id: int,
    resource: str,
    external_id: str,
    source: ChangeSource,
    connection_id: int | None,
    delivery_id: str | None,
    now: datetime,
) -> ChangeEvent:
    return ChangeEvent(
        app_id=str(app_id),
        connection_id=None if connection_id is None else str(connection_id),
        resource=resource,
        record_id=external_id,
        kind=ChangeKind.DELETED,
        source=source,
        updated_at=None,
        detected_at=now,
        delivery_id=delivery_id,
    )
