"""Deletions: a webhook `*_DELETE`, or ids a reconciliation pass no longer finds in DrChrono.

    await mark_deleted(db, app_id=1, resource="appointments", external_ids=["143400007"],
                       source=ChangeSource.WEBHOOK, delivery_id="…")

The raw record and its model rows are flagged (`deleted_at`), never removed, and one DELETED
change event per record that this call marks is inserted in the same transaction, keyed by the
instant it marks (`domain.events`: a webhook and the reconciliation pass that both see a
deletion make one event, because only the first finds the record live; a deletion after a
restore is a new event). A record already marked gets no second event. Ids the store never held
still get their event, under the plain key (the deletion happened in DrChrono, and repeating it
adds nothing).
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
        records = Records(db)
        marked = await records.mark_deleted(
            conn, app_id=app_id, resource=resource, external_ids=ids, now=now
        )
        rows = await ModelRows(db).mark_deleted(conn, record_ids=list(marked.values()), now=now)
        rest = [i for i in ids if i not in marked]
        held = await records.versions(conn, app_id=app_id, resource=resource, external_ids=rest)
        announced = {i: now for i in marked} | {i: None for i in rest if i not in held}
        event = _Event(app_id, resource, source, connection_id, delivery_id, now)
        events = [event.of(i, deletion_at) for i, deletion_at in announced.items()]
        inserted = await ChangeEvents(db).insert(conn, app_id=app_id, events=events)
    return DeleteReport(requested=len(ids), marked=len(marked), model_rows=rows, events=inserted)


@dataclass(frozen=True, slots=True)
class _Event:
    app_id: int
    resource: str
    source: ChangeSource
    connection_id: int | None
    delivery_id: str | None
    now: datetime

    def of(self, external_id: str, deletion_at: datetime | None) -> ChangeEvent:
        """The DELETED event of one id: keyed by the instant it was marked, for a stored
        record; by the plain key for an id the store never held."""
        return ChangeEvent(
            app_id=str(self.app_id),
            connection_id=None if self.connection_id is None else str(self.connection_id),
            resource=self.resource,
            record_id=external_id,
            kind=ChangeKind.DELETED,
            source=self.source,
            updated_at=None,
            detected_at=self.now,
            delivery_id=self.delivery_id,
            deletion_at=deletion_at,
        )
