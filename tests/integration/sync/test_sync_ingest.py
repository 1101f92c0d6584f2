"""ingest(): one transaction stores raw records, maps them, queues errors and emits events."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sync_support import TZ, counts, make_app, patient

from chronobridge.domain.events import ChangeKind, ChangeSource
from chronobridge.domain.mappings import default_mapping
from chronobridge.store import ChangeEvents, Database, ModelRows, Records, SyncErrors
from chronobridge.store.tables import model_rows, records
from chronobridge.sync import ingest, mark_deleted


async def _ingest(db: Database, app_id: int, batch: list[dict[str, object]], **kw: object):
    options = {"source": ChangeSource.POLL, "connection_id": None, "timezones": TZ}
    options["mapping"] = default_mapping()
    options.update(kw)
    return await ingest(db, app_id=app_id, resource="patients", records=batch, **options)  # type: ignore[arg-type]


async def test_a_new_batch_is_stored_mapped_and_announced(database: Database) -> None:
    app = await make_app(database)
    report = await _ingest(database, app, [patient(1), patient(2), patient(3)])
    assert (report.created, report.updated, report.events, report.failed) == (3, 0, 3, 0)
    assert await counts(database) == {"records": 3, "model_rows": 3, "events": 3, "open_errors": 0}
    stored = await Records(database).get(app_id=app, resource="patients", external_id="2")
    assert stored is not None
    assert stored.payload == patient(2)
    row = await ModelRows(database).get(app_id=app, model="patient", external_id="2")
    assert row is not None
    assert row.values["phone_home"] == "+12175550178"
    assert row.provider_external_id == "268001"
    events = await ChangeEvents(database).after(app_id=app)
    assert {e.kind for e in events} == {ChangeKind.CREATED.value}


async def test_nothing_about_the_patient_is_in_plain_text(database: Database) -> None:
    app = await make_app(database)
    await _ingest(database, app, [patient(7, last_name="Zyzzyvacanary")])
    async with database.read() as conn:
        dumped = json.dumps(
            [
                [list(r) for r in (await conn.execute(sa.select(t))).all()]
                for t in (records, model_rows)
            ],
            default=str,
        )
    assert "Zyzzyvacanary" not in dumped
    assert "example.test" not in dumped


async def test_the_same_batch_twice_changes_nothing(database: Database) -> None:
    app = await make_app(database)
    batch = [patient(1), patient(2)]
    await _ingest(database, app, batch)
    again = await _ingest(database, app, list(reversed(batch)))
    assert (again.created, again.updated, again.unchanged, again.events) == (0, 0, 2, 0)
    assert (await counts(database))["events"] == 2


async def test_an_older_version_never_replaces_a_newer_one(database: Database) -> None:
    app = await make_app(database)
    await _ingest(database, app, [patient(1, minutes=10, last_name="Newer")])
    report = await _ingest(database, app, [patient(1, minutes=5, last_name="Older")])
    assert (report.stale, report.updated) == (1, 0)
    stored = await Records(database).get(app_id=app, resource="patients", external_id="1")
    assert stored is not None
    assert stored.payload["last_name"] == "Newer"
    newer = await _ingest(database, app, [patient(1, minutes=20, last_name="Newest")])
    assert newer.updated == 1
    assert newer.events == 1


async def test_a_mapping_failure_is_queued_and_the_record_kept(database: Database) -> None:
    app = await make_app(database)
    report = await _ingest(database, app, [patient(1, gender="Martian"), patient(2)])
    assert (report.created, report.failed) == (2, 1)
    assert await counts(database) == {"records": 2, "model_rows": 1, "events": 2, "open_errors": 1}
    [error] = await SyncErrors(database).list(app_id=app)
    assert (error.external_id, error.model, error.field, error.rule) == (
        "1",
        "patient",
        "gender",
        "codes",
    )
    assert "Martian" not in error.reason
    fixed = await _ingest(database, app, [patient(1, minutes=1, gender="Male")])
    assert fixed.resolved == 1
    assert (await counts(database))["open_errors"] == 0


async def test_deletions_flag_rows_and_emit_one_event(database: Database) -> None:
    app = await make_app(database)
    await _ingest(database, app, [patient(1), patient(2)])
    report = await mark_deleted(
        database,
        app_id=app,
        resource="patients",
        external_ids=["1", "1", "99"],
        source=ChangeSource.WEBHOOK,
    )
    assert (report.requested, report.marked, report.model_rows, report.events) == (2, 1, 1, 2)
    again = await mark_deleted(
        database,
        app_id=app,
        resource="patients",
        external_ids=["1"],
        source=ChangeSource.RECONCILE,
    )
    assert (again.marked, again.events) == (0, 0)
    assert await Records(database).live_ids(app_id=app, resource="patients") == {"2"}
    assert await ModelRows(database).count(app_id=app, model="patient") == 1
