"""Deletions (DP-3): complete passes find ids DrChrono no longer has, lists read with
show_archived record deleted_flag records, and a suspected mass deletion is held."""

from __future__ import annotations

from sync_emulator import Practice, practice
from sync_support import make_app

from chronobridge.domain.mappings import default_mapping
from chronobridge.emulator._seed import MAIN_PRACTICE
from chronobridge.store import ChangeEvents, Database, ModelRows, Records
from chronobridge.sync import EngineOptions, SyncEngine


def _patient_ids(emu: Practice) -> list[int]:
    return [
        int(record["id"])
        for record, meta in emu.state.records.scan("patients")
        if meta.practice == MAIN_PRACTICE
    ]


async def test_a_reconciliation_pass_marks_exactly_the_deleted_patients(database: Database) -> None:
    app = await make_app(database)
    async with practice(patients=300, appointments=30) as emu:
        engine = SyncEngine(database, emu.clients, default_mapping())
        await engine.run(app, "patients")
        gone = _patient_ids(emu)[::30]  # 10 patients; DrChrono sends no webhook for these
        for patient in gone:
            emu.state.records.delete("patients", patient)
        incremental = await engine.run(app, "patients")
        assert incremental.deleted == 0  # since= cannot see deletions
        report = await engine.run(app, "patients", mode="reconcile")
        assert (report.mode, report.deleted, report.deletions_held) == ("reconcile", 10, 0)
        live = await Records(database).live_ids(app_id=app, resource="patients")
        assert live == {str(i) for i in _patient_ids(emu)}
        assert await ModelRows(database).count(app_id=app, model="patient") == 290
        events = await ChangeEvents(database).after(app_id=app, limit=10_000)
        deleted = sorted(e.external_id for e in events if e.kind == "deleted")
        assert deleted == sorted(str(i) for i in gone)
        again = await engine.run(app, "patients", mode="reconcile")
        assert again.deleted == 0


async def test_a_mass_deletion_is_held_not_applied(database: Database) -> None:
    app = await make_app(database)
    async with practice(patients=100, appointments=10) as emu:
        engine = SyncEngine(database, emu.clients, default_mapping())
        await engine.run(app, "patients")
        for patient in _patient_ids(emu)[:70]:
            emu.state.records.delete("patients", patient)
        report = await engine.run(app, "patients", mode="reconcile")
        assert (report.deleted, report.deletions_held) == (0, 70)
        assert await Records(database).count(app_id=app, resource="patients") == 100


async def test_deleted_appointments_arrive_flagged_through_show_archived(
    database: Database,
) -> None:
    app = await make_app(database)
    async with practice(patients=40, appointments=80) as emu:
        engine = SyncEngine(database, emu.clients, default_mapping())
        await engine.run(app, "appointments")
        await emu.advance_clock(60)
        ids = [str(r["id"]) for r, m in emu.state.records.scan("appointments")][:3]
        for appointment in ids:
            emu.state.records.delete("appointments", int(appointment))
        report = await engine.run(app, "appointments")
        assert (report.mode, report.deleted) == ("incremental", 3)
        live = await Records(database).live_ids(app_id=app, resource="appointments")
        assert not live & set(ids)
        again = await engine.run(app, "appointments")
        assert again.deleted == 0


async def test_a_full_scan_finds_deleted_records_of_lists_without_since(database: Database) -> None:
    app = await make_app(database)
    async with practice(patients=40, appointments=40) as emu:
        engine = SyncEngine(database, emu.clients, default_mapping(), options=EngineOptions())
        first = await engine.run(app, "allergies")
        assert first.mode == "scan"
        stored = await Records(database).count(app_id=app, resource="allergies")
        victim = next(int(r["id"]) for r, m in emu.state.records.scan("allergies")
                      if m.practice == MAIN_PRACTICE)  # fmt: skip
        emu.state.records.delete("allergies", victim)
        second = await engine.run(app, "allergies")
        assert (second.mode, second.deleted) == ("scan", 1)
        assert await Records(database).count(app_id=app, resource="allergies") == stored - 1
