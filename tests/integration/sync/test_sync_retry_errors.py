"""The error queue on both databases: a strict mapping queues the records it cannot map, a retry
with the same mapping leaves them open (attempts + 1), a retry after the mapping is fixed maps
them from the stored raw records, and nothing is lost on the way."""

from __future__ import annotations

from sync_emulator import practice
from sync_support import make_app

from chronobridge.domain.mappings import CompiledMapping, default_text, load_mapping
from chronobridge.emulator._seed import MAIN_PRACTICE
from chronobridge.store import (
    ChangeEvents,
    Database,
    ErrorStatus,
    ModelRows,
    Records,
    SyncErrors,
)
from chronobridge.sync import RunStatus, SyncEngine

GENDER = '        codes: {Male: M, Female: F, Other: O, UNK: U, ASKU: U, "": U}\n'


def _mapping(version: int, *, strict: bool) -> CompiledMapping:
    text = default_text()
    assert GENDER in text
    if strict:  # "Male" has no code: every male patient fails the gender rule
        text = text.replace(GENDER, GENDER.replace("Male: M, ", ""))
    return load_mapping(text.replace("version: 1", f"version: {version}"), origin="test.yaml")


async def _open_errors(db: Database, app: int) -> list[tuple[str, int]]:
    errors = await SyncErrors(db).list(app_id=app, status=ErrorStatus.OPEN, limit=10_000)
    return sorted((e.external_id, e.attempts) for e in errors)


async def test_retry_after_fixing_the_mapping_resolves_the_queue(database: Database) -> None:
    app = await make_app(database)
    async with practice(patients=80, appointments=20) as emu:
        male = sorted(
            str(record["id"])
            for record, meta in emu.state.records.scan("patients")
            if meta.practice == MAIN_PRACTICE and record.get("gender") == "Male"
        )
        total = len(emu.expected("patients"))
        assert 0 < len(male) < total
        strict = SyncEngine(database, emu.clients, _mapping(2, strict=True))
        report = await strict.run(app, "patients")
        assert (report.status, report.created, report.failed) == (RunStatus.DONE, total, len(male))
        assert await _open_errors(database, app) == [(pid, 1) for pid in male]
        assert await ModelRows(database).count(app_id=app, model="patient") == total - len(male)
        raw = await Records(database).digests(app_id=app, resource="patients")
        assert raw == emu.expected("patients")  # the raw records are all kept
        events = await ChangeEvents(database).count(app_id=app, resource="patients")

        still = await strict.retry_errors(app_id=app)
        assert (still.attempted, still.resolved, still.still_failing) == (len(male), 0, len(male))
        assert await _open_errors(database, app) == [(pid, 2) for pid in male]

        fixed = SyncEngine(database, emu.clients, _mapping(3, strict=False))
        retried = await fixed.retry_errors(app_id=app)
        assert (retried.attempted, retried.resolved) == (len(male), len(male))
        assert (retried.still_failing, retried.missing) == (0, 0)
        assert await _open_errors(database, app) == []
        assert await ModelRows(database).count(app_id=app, model="patient") == total
        for pid in male:  # each model row carries its raw record, mapped by the fixed file
            row = await ModelRows(database).get(app_id=app, model="patient", external_id=pid)
            record = await Records(database).get(app_id=app, resource="patients", external_id=pid)
            assert row is not None
            assert record is not None
            assert (row.record_id, row.values["gender"], row.mapping_version) == (record.id, "M", 3)
            assert row.values["first_name"] == record.payload["first_name"]
        assert await Records(database).digests(app_id=app, resource="patients") == raw
        assert await ChangeEvents(database).count(app_id=app, resource="patients") == events
        resolved = await SyncErrors(database).list(
            app_id=app, status=ErrorStatus.RESOLVED, limit=10_000
        )
        assert sorted(e.external_id for e in resolved) == male
        assert (await fixed.retry_errors(app_id=app)).attempted == 0
