"""The emulator's records: one ordered table per resource, with change notifications.

Records are kept as the API's field dicts (without timestamps, which are rendered per request in
the doctor's time zone from `Meta`). Ids grow per resource, so the id order is the insertion
order and a cursor is just "the last id served": pages stay stable while records change.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from chronobridge.emulator._clock import Clock

ChangeKind = Literal["created", "updated", "deleted"]
Record = dict[str, Any]


@dataclass(slots=True, kw_only=True)
class Meta:
    created: datetime
    updated: datetime
    practice: int
    deleted: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One REST-visible change; webhooks and the churn log subscribe to these."""

    resource: str
    kind: ChangeKind
    id: int
    record: Record
    previous: Record | None
    practice: int
    at: datetime
    client_id: str | None = None  # the application whose call made the change, if any


Listener = Callable[[Change], None]


@dataclass(slots=True)
class Table:
    rows: dict[int, Record] = field(default_factory=dict)
    meta: dict[int, Meta] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)
    next_id: int = 1


class RecordStore:
    """All records of all resources; the only place that changes them."""

    def __init__(self, clock: Clock, *, id_base: Callable[[str], int] | None = None) -> None:
        self._clock = clock
        self._tables: dict[str, Table] = {}
        self._listeners: list[Listener] = []
        self._id_base = id_base or (lambda _resource: 1)

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def table(self, resource: str) -> Table:
        table = self._tables.get(resource)
        if table is None:
            table = self._tables[resource] = Table(next_id=self._id_base(resource))
        return table

    def resources(self) -> list[str]:
        return sorted(self._tables)

    # --- reads ------------------------------------------------------------------------------

    def get(self, resource: str, record_id: int, *, include_deleted: bool = False) -> Record | None:
        table = self.table(resource)
        meta = table.meta.get(record_id)
        if meta is None or (meta.deleted is not None and not include_deleted):
            return None
        return table.rows[record_id]

    def meta(self, resource: str, record_id: int) -> Meta | None:
        return self.table(resource).meta.get(record_id)

    def scan(
        self, resource: str, *, after: int | None = None, include_deleted: bool = False
    ) -> Iterator[tuple[Record, Meta]]:
        """Records in id order, starting after the id `after` (a cursor)."""
        table = self.table(resource)
        start = 0 if after is None else bisect.bisect_right(table.order, after)
        for record_id in table.order[start:]:
            meta = table.meta[record_id]
            if meta.deleted is None or include_deleted:
                yield table.rows[record_id], meta

    def count(self, resource: str) -> int:
        table = self.table(resource)
        return sum(1 for m in table.meta.values() if m.deleted is None)

    # --- writes -----------------------------------------------------------------------------

    def create(
        self,
        resource: str,
        fields: Record,
        *,
        practice: int,
        client_id: str | None = None,
        at: datetime | None = None,
        notify: bool = True,
    ) -> Record:
        table = self.table(resource)
        record_id = int(fields["id"]) if "id" in fields else table.next_id
        table.next_id = max(table.next_id, record_id + 1)
        now = at or self._clock.now()
        record = {**fields, "id": record_id}
        table.rows[record_id] = record
        table.meta[record_id] = Meta(created=now, updated=now, practice=practice)
        if not table.order or record_id > table.order[-1]:
            table.order.append(record_id)
        else:
            bisect.insort(table.order, record_id)
        if notify:
            self._emit(resource, "created", record_id, None, practice, now, client_id)
        return record

    def update(
        self,
        resource: str,
        record_id: int,
        fields: Record,
        *,
        client_id: str | None = None,
        at: datetime | None = None,
    ) -> Record:
        table = self.table(resource)
        record = table.rows[record_id]
        previous = dict(record)
        record.update({k: v for k, v in fields.items() if k != "id"})
        meta = table.meta[record_id]
        meta.updated = at or self._clock.now()
        self._emit(resource, "updated", record_id, previous, meta.practice, meta.updated, client_id)
        return record

    def delete(self, resource: str, record_id: int, *, client_id: str | None = None) -> Record:
        table = self.table(resource)
        meta = table.meta[record_id]
        now = self._clock.now()
        meta.deleted = meta.updated = now
        record = table.rows[record_id]
        self._emit(resource, "deleted", record_id, dict(record), meta.practice, now, client_id)
        return record

    def _emit(
        self,
        resource: str,
        kind: ChangeKind,
        record_id: int,
        previous: Record | None,
        practice: int,
        at: datetime,
        client_id: str | None,
    ) -> None:
        change = Change(
            resource=resource,
            kind=kind,
            id=record_id,
            record=self.table(resource).rows[record_id],
            previous=previous,
            practice=practice,
            at=at,
            client_id=client_id,
        )
        for listener in self._listeners:
            listener(change)

    # --- persistence ------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            name: {
                "next_id": table.next_id,
                "rows": [[table.rows[i], _meta_json(table.meta[i])] for i in table.order],
            }
            for name, table in self._tables.items()
        }

    def restore(self, data: dict[str, Any]) -> None:
        self._tables.clear()
        for name, saved in data.items():
            table = Table(next_id=int(saved["next_id"]))
            for record, meta in saved["rows"]:
                record_id = int(record["id"])
                table.rows[record_id] = record
                table.meta[record_id] = _meta_from_json(meta)
                table.order.append(record_id)
            self._tables[name] = table


def _meta_json(meta: Meta) -> dict[str, Any]:
    return {
        "created": meta.created.isoformat(),
        "updated": meta.updated.isoformat(),
        "practice": meta.practice,
        "deleted": meta.deleted.isoformat() if meta.deleted else None,
    }


def _meta_from_json(data: dict[str, Any]) -> Meta:
    return Meta(
        created=datetime.fromisoformat(data["created"]),
        updated=datetime.fromisoformat(data["updated"]),
        practice=int(data["practice"]),
        deleted=datetime.fromisoformat(data["deleted"]) if data["deleted"] else None,
    )
