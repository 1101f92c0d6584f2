"""The engine against the emulator: backfills equal DrChrono, incremental polls see exactly the
changes, boundary re-reads and repeated runs make no duplicate events."""

from __future__ import annotations

from sync_emulator import practice
from sync_support import make_app

from chronobridge.domain.mappings import default_mapping
from chronobridge.store import ChangeEvents, Database, Records, SyncRuns
from chronobridge.sync import EngineOptions, RunStatus, SyncEngine


async def test_backfill_equals_the_emulator(database: Database) -> None:
    app = await make_app(database)
    async with practice(patients=700, appointments=900) as emu:
        engine = SyncEngine(database, emu.clients, default_mapping())
        reports = await engine.run_many(app, ["patients", "appointments", "line_items"])
        assert [r.status for r in reports] == [RunStatus.DONE] * 3
        for resource in ("patients", "appointments", "line_items"):
            stored = await Records(database).digests(app_id=app, resource=resource)
            assert stored == emu.expected(resource), resource
        patients = next(r for r in reports if r.resource == "patients")
        assert patients.mode == "backfill"
        assert patients.pages == 1  # one batch page of up to 1,000
        events = await ChangeEvents(database).count(app_id=app, resource="patients")
        assert events == len(emu.expected("patients"))


async def test_list_backfill_then_incremental_sees_exactly_the_churn(database: Database) -> None:
    app = await make_app(database)
    async with practice(patients=300, appointments=600) as emu:
        engine = SyncEngine(
            database, emu.clients, default_mapping(), options=EngineOptions(use_batch=False)
        )
        first = await engine.run(app, "patients")
        assert (first.status, first.mode, first.pages) == (RunStatus.DONE, "backfill", 2)
        assert first.created == 300 + 0  # doctor1's practice only
        changes = await emu.churn(40)
        changed = {str(c["id"]) for c in changes if c["resource"] == "patients"}
        before = await ChangeEvents(database).count(app_id=app, resource="patients")
        second = await engine.run(app, "patients")
        assert second.mode == "incremental"
        assert second.created + second.updated == len(changed)
        assert set(second.changed_ids) == changed
        after = await ChangeEvents(database).count(app_id=app, resource="patients")
        assert after - before == len(changed)
        third = await engine.run(app, "patients")  # the boundary day is read again
        assert (third.created, third.updated) == (0, 0)
        assert await ChangeEvents(database).count(app_id=app, resource="patients") == after
        assert await Records(database).digests(app_id=app, resource="patients") == emu.expected(
            "patients"
        )
        runs = await SyncRuns(database).recent(app_id=app, resource="patients")
        assert [r.status for r in runs] == ["done"] * 3
