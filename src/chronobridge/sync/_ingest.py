"""The one write path for fetched DrChrono records: polls, backfills, webhook fetches, retries.

    report = await ingest(db, app_id=1, resource="patients", records=page.results,
                          source=ChangeSource.POLL, connection_id=3, timezones=tz,
                          mapping=default_mapping())

In one transaction (the caller's `tx`, or a new one): read the stored versions of the batch's
ids in one query; skip what is unchanged; never let an older version replace a newer one
(checked again inside the upsert, so racing writers cannot either); store the raw records
encrypted; map each into the practice model (a record that fails goes to the error queue with
the model, field and rule, and is still stored raw: nothing is lost); resolve the errors of
records that map fine now; insert one change event per new version (deduplicated by key); and
call the hooks with the stored model rows (patient matching keys, for example).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.domain.events import ChangeEvent, ChangeKind, ChangeSource
from chronobridge.domain.mappings import CompiledMapping
from chronobridge.domain.timezones import TimeZones
from chronobridge.store import (
    ChangeEvents,
    Database,
    ModelRows,
    Records,
    StoredVersion,
    SyncErrors,
)
from chronobridge.sync._prepare import Incoming, decide, map_rows, prepare
from chronobridge.sync._rows import StoredModelRow, row_write, stored_row

__all__ = [
    "Batch",
    "IngestHook",
    "IngestOptions",
    "IngestReport",
    "StoredModelRow",
    "ingest",
    "ingest_prepared",
]


class IngestHook(Protocol):
    """Called inside the ingest transaction after the model rows are written."""

    async def after_rows(
        self, tx: AsyncConnection, app_id: int, rows: Sequence[StoredModelRow]
    ) -> None: ...


_COUNTS: tuple[str, ...] = ("received", "created", "updated", "unchanged", "stale")
_COUNTS += ("invalid", "failed", "resolved", "events")


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestReport:
    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    """Older than (or racing with) the stored version: not written."""
    invalid: int = 0
    """No id (or an unreadable `updated_at`): not storable."""
    failed: int = 0
    """Mapping failures (the raw record is stored; the error queue has the reason)."""
    resolved: int = 0
    events: int = 0
    changed_ids: tuple[str, ...] = field(default=(), repr=False)
    """External ids created or updated, in order (ids only: no patient data)."""

    def __add__(self, other: IngestReport) -> IngestReport:
        counts = {name: getattr(self, name) + getattr(other, name) for name in _COUNTS}
        return IngestReport(**counts, changed_ids=self.changed_ids + other.changed_ids)


async def ingest(
    db: Database,
    *,
    app_id: int,
    resource: str,
    records: Sequence[Mapping[str, Any]],
    source: ChangeSource,
    connection_id: int | None,
    timezones: TimeZones,
    mapping: CompiledMapping,
    hooks: Sequence[IngestHook] = (),
    delivery_id: str | None = None,
    kind: ChangeKind | None = None,
    now: datetime | None = None,
    tx: AsyncConnection | None = None,
) -> IngestReport:
    """Store, map and announce one batch of fetched records (see the module docstring).

    `kind` overrides the event kind (a webhook knows CREATED, LOCKED, ...); by default a record
    new to the store is CREATED and any other new version UPDATED.
    """
    incoming, invalid = prepare(records, timezones=timezones)
    batch = Batch(incoming=incoming, received=len(records), invalid=invalid)
    options = IngestOptions(
        source=source,
        connection_id=connection_id,
        timezones=timezones,
        mapping=mapping,
        hooks=tuple(hooks),
        delivery_id=delivery_id,
        kind=kind,
    )
    async with db.write(tx) as conn:
        return await ingest_prepared(
            db, conn, app_id=app_id, resource=resource, batch=batch, options=options, now=now
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Batch:
    """Records already through `prepare` (the engine prepares them to move its cursor)."""

    incoming: Sequence[Incoming]
    received: int
    invalid: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestOptions:
    source: ChangeSource
    connection_id: int | None
    timezones: TimeZones
    mapping: CompiledMapping
    hooks: tuple[IngestHook, ...] = ()
    delivery_id: str | None = None
    kind: ChangeKind | None = None


async def ingest_prepared(
    db: Database,
    tx: AsyncConnection,
    *,
    app_id: int,
    resource: str,
    batch: Batch,
    options: IngestOptions,
    now: datetime | None = None,
) -> IngestReport:
    """`ingest` for prepared records, inside the caller's transaction."""
    now = now or datetime.now(UTC)
    run = _Ingest(
        db, app_id=app_id, resource=resource, now=now, connection_id=options.connection_id
    )
    run.want_rows = bool(options.hooks)
    progress = await run.apply(
        tx, list(batch.incoming), mapping=options.mapping, timezones=options.timezones
    )
    events = run.events(
        progress.written,
        source=options.source,
        kind=options.kind,
        delivery_id=options.delivery_id,
        restored=progress.restored,
    )
    progress.events = await ChangeEvents(db).insert(tx, app_id=app_id, events=events)
    for hook in options.hooks:
        await hook.after_rows(tx, app_id, progress.stored_rows)
    return progress.finish(received=batch.received, invalid=batch.invalid)


@dataclass(slots=True)
class _Progress:
    written: list[tuple[Incoming, bool]] = field(default_factory=list)
    """(record, created) of the versions actually written."""
    restored: dict[str, datetime] = field(default_factory=dict)
    """External id -> the stored deletion undone, for written records that were deleted."""
    stored_rows: list[StoredModelRow] = field(default_factory=list)
    unchanged: int = 0
    stale: int = 0
    failed: int = 0
    resolved: int = 0
    events: int = 0

    def finish(self, *, received: int, invalid: int) -> IngestReport:
        created = sum(1 for _, new in self.written if new)
        return IngestReport(
            received=received,
            created=created,
            updated=len(self.written) - created,
            unchanged=self.unchanged,
            stale=self.stale,
            invalid=invalid,
            failed=self.failed,
            resolved=self.resolved,
            events=self.events,
            changed_ids=tuple(item.external_id for item, _ in self.written),
        )


class _Ingest:
    def __init__(
        self, db: Database, *, app_id: int, resource: str, now: datetime, connection_id: int | None
    ) -> None:
        self.db, self.app_id, self.resource = db, app_id, resource
        self.now, self.connection_id = now, connection_id
        self.want_rows = True

    async def apply(
        self,
        tx: AsyncConnection,
        incoming: list[Incoming],
        *,
        mapping: CompiledMapping,
        timezones: TimeZones,
    ) -> _Progress:
        progress = _Progress()
        records = Records(self.db)
        ids = [item.external_id for item in incoming]
        stored = await records.versions(
            tx, app_id=self.app_id, resource=self.resource, external_ids=ids
        )
        changed, unchanged, progress.stale = decide(incoming, stored)
        progress.unchanged = len(unchanged)
        await records.touch(tx, ids=unchanged, now=self.now)
        written = await records.upsert(
            tx,
            app_id=self.app_id,
            resource=self.resource,
            rows=[item.write for item in changed],
            now=self.now,
            fetched_by=self.connection_id,
        )
        progress.stale += len(changed) - len(written)
        kept = [item for item in changed if item.external_id in written]
        progress.written = [(item, item.external_id not in stored) for item in kept]
        progress.restored = _restores(kept, stored)
        await self._map(tx, progress, kept, written, mapping=mapping, timezones=timezones)
        return progress

    async def _map(
        self,
        tx: AsyncConnection,
        progress: _Progress,
        kept: list[Incoming],
        record_ids: Mapping[str, int],
        *,
        mapping: CompiledMapping,
        timezones: TimeZones,
    ) -> None:
        if not kept or not mapping.maps(self.resource):
            return
        mapped = map_rows(mapping, self.resource, kept, timezones=timezones)
        writes = [row_write(item, row, record_ids[item.external_id]) for item, row in mapped.rows]
        row_ids = await ModelRows(self.db).upsert(tx, app_id=self.app_id, rows=writes)
        if self.want_rows:  # only hooks read them: skip the work without hooks
            created = {item.external_id for item, new in progress.written if new}
            progress.stored_rows = [
                stored_row(self.app_id, row_ids, write, row, created=write.external_id in created)
                for write, (_, row) in zip(writes, mapped.rows, strict=True)
            ]
        errors = SyncErrors(self.db)
        await errors.record(tx, app_id=self.app_id, errors=mapped.failures, now=self.now)
        progress.failed = len(mapped.failures)
        if await errors.has_open(tx, app_id=self.app_id, resource=self.resource):
            for model, ok in mapped.ok_ids.items():
                progress.resolved += await errors.resolve(
                    tx,
                    app_id=self.app_id,
                    resource=self.resource,
                    model=model,
                    external_ids=ok,
                    now=self.now,
                )

    def events(
        self,
        written: list[tuple[Incoming, bool]],
        *,
        source: ChangeSource,
        kind: ChangeKind | None,
        delivery_id: str | None,
        restored: Mapping[str, datetime],
    ) -> list[ChangeEvent]:
        connection = None if self.connection_id is None else str(self.connection_id)
        return [
            ChangeEvent(
                app_id=str(self.app_id),
                connection_id=connection,
                resource=self.resource,
                record_id=item.external_id,
                kind=kind or (ChangeKind.CREATED if new else ChangeKind.UPDATED),
                source=source,
                updated_at=item.write.updated_at,
                detected_at=self.now,
                delivery_id=delivery_id,
                deletion_at=restored.get(item.external_id),
            )
            for item, new in written
        ]


def _restores(kept: Sequence[Incoming], stored: Mapping[str, StoredVersion]) -> dict[str, datetime]:
    """Written records that were stored as deleted: id -> the deletion each one undoes."""
    found: dict[str, datetime] = {}
    for item in kept:
        have = stored.get(item.external_id)
        if have is not None and have.deleted_at is not None:
            found[item.external_id] = have.deleted_at
    return found
