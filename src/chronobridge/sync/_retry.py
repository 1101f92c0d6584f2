"""`chronobridge errors retry`: map the stored raw records of open mapping errors again.

After the mapping was fixed (a new file loaded), every record in the error queue is re-mapped
from its stored raw JSON, nothing is fetched: a record that fits now gets its model row and its
error resolved; one that still fails stays open with `attempts` + 1. The raw record was kept all
along, so nothing was lost in between.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from chronobridge.domain.mappings import CompiledMapping
from chronobridge.domain.timezones import TimeZones
from chronobridge.store import (
    Database,
    ErrorStatus,
    ModelRows,
    Records,
    RecordWrite,
    StoredRecord,
    SyncErrors,
)
from chronobridge.sync._ingest import IngestHook
from chronobridge.sync._prepare import Incoming, map_rows
from chronobridge.sync._rows import row_write, stored_row

__all__ = ["RetryReport", "retry_errors"]

TimeZonesOf = Callable[[int], Awaitable[TimeZones]]


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryReport:
    attempted: int = 0
    resolved: int = 0
    still_failing: int = 0
    missing: int = 0
    """Errors whose raw record is gone (cannot happen unless the app was deleted)."""


async def retry_errors(
    db: Database,
    *,
    mapping: CompiledMapping,
    timezones_of: TimeZonesOf,
    app_id: int | None = None,
    resource: str | None = None,
    hooks: Sequence[IngestHook] = (),
    now: datetime | None = None,
) -> RetryReport:
    now = now or datetime.now(UTC)
    groups = await _open_errors(db, app_id=app_id, resource=resource)
    total = RetryReport()
    for (app, name), ids in sorted(groups.items()):
        zones = await timezones_of(app)
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            done = await _remap(db, app, name, part, mapping, zones, tuple(hooks), now)
            total = _sum(total, done)
    return total


async def _open_errors(
    db: Database, *, app_id: int | None, resource: str | None
) -> dict[tuple[int, str], list[str]]:
    groups: dict[tuple[int, str], list[str]] = {}
    after = 0
    while True:
        page = await SyncErrors(db).list(
            app_id=app_id, status=ErrorStatus.OPEN, resource=resource, after_id=after, limit=1000
        )
        for error in page:
            ids = groups.setdefault((error.app_id, error.resource), [])
            if error.external_id not in ids:
                ids.append(error.external_id)
        if len(page) < 1000:
            return groups
        after = page[-1].id


async def _remap(
    db: Database,
    app_id: int,
    resource: str,
    ids: list[str],
    mapping: CompiledMapping,
    zones: TimeZones,
    hooks: tuple[IngestHook, ...],
    now: datetime,
) -> RetryReport:
    async with db.write() as tx:
        stored = await Records(db).by_ids(app_id=app_id, resource=resource, external_ids=ids, tx=tx)
        items = [_incoming(record) for record in stored]
        mapped = map_rows(mapping, resource, items, timezones=zones)
        record_ids = {record.external_id: record.id for record in stored}
        writes = [row_write(item, row, record_ids[item.external_id]) for item, row in mapped.rows]
        row_ids = await ModelRows(db).upsert(tx, app_id=app_id, rows=writes)
        errors = SyncErrors(db)
        await errors.record(tx, app_id=app_id, errors=mapped.failures, now=now)
        resolved = 0
        for model, ok in mapped.ok_ids.items():
            resolved += await errors.resolve(
                tx, app_id=app_id, resource=resource, model=model, external_ids=ok, now=now
            )
        rows = [
            stored_row(app_id, row_ids, write, row, created=False)
            for write, (_, row) in zip(writes, mapped.rows, strict=True)
        ]
        for hook in hooks:
            await hook.after_rows(tx, app_id, rows)
    return RetryReport(
        attempted=len(ids),
        resolved=resolved,
        still_failing=len({f.external_id for f in mapped.failures}),
        missing=len(ids) - len(stored),
    )


def _incoming(record: StoredRecord) -> Incoming:
    write = RecordWrite(
        external_id=record.external_id,
        updated_at=record.updated_at,
        digest=record.digest,
        payload="",
    )
    return Incoming(record=record.payload, write=write)


def _sum(a: RetryReport, b: RetryReport) -> RetryReport:
    return RetryReport(
        attempted=a.attempted + b.attempted,
        resolved=a.resolved + b.resolved,
        still_failing=a.still_failing + b.still_failing,
        missing=a.missing + b.missing,
    )
