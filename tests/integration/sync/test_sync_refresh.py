"""Per-patient refresh (lists without `since`): a patients poll that sees a changed patient
re-reads that patient's allergies, medications and problems at once, one call per resource,
and reads nothing while less than the configured share of the poll budget is left."""

from __future__ import annotations

from sync_emulator import Practice, practice
from sync_support import make_app

from chronobridge.domain.budget import Priority, ceiling
from chronobridge.domain.mappings import default_mapping
from chronobridge.emulator._seed import MAIN_PRACTICE
from chronobridge.store import Budget, Database, Records
from chronobridge.sync import EngineOptions, RunStatus, SyncEngine

REFRESHED = EngineOptions().refresh_resources


async def _calls(emu: Practice, path: str) -> int:
    stats = (await emu.http.get("/_emulator/stats")).json()
    return int(stats["per_path"].get(path, 0))


def _an_allergy(emu: Practice) -> tuple[int, int]:
    """(allergy id, its patient's id) of the main practice."""
    for record, meta in emu.state.records.scan("allergies"):
        if meta.practice == MAIN_PRACTICE:
            return int(record["id"]), int(record["patient"])
    raise AssertionError("the seed has no allergy")


async def _stored_allergy(db: Database, app: int, allergy: int) -> str | None:
    digests = await Records(db).digests(app_id=app, resource="allergies")
    return digests.get(str(allergy))


async def _backfill(engine: SyncEngine, app: int) -> None:
    reports = await engine.run_many(app, ["doctors", "patients", *REFRESHED])
    assert {r.status for r in reports} == {RunStatus.DONE}


async def test_a_changed_patients_allergies_are_re_read_with_the_patients_poll(
    database: Database,
) -> None:
    assert REFRESHED == ("allergies", "medications", "problems")
    app = await make_app(database)
    async with practice(patients=40, appointments=40) as emu:
        engine = SyncEngine(database, emu.clients, default_mapping())
        await _backfill(engine, app)
        allergy, patient = _an_allergy(emu)
        before = await _stored_allergy(database, app, allergy)
        emu.state.records.update("allergies", allergy, {"reaction": "Hives (synthetic)"})
        emu.state.records.update("patients", patient, {"cell_phone": "(217) 555-0199"})
        reads = {name: await _calls(emu, f"/api/{name}") for name in REFRESHED}

        poll = await engine.run(app, "patients")

        assert (poll.mode, poll.changed_ids) == ("incremental", (str(patient),))
        assert poll.refreshed == 1  # the allergy; the patient's other lists did not change
        for name in REFRESHED:  # one call per resource for the one changed patient
            assert await _calls(emu, f"/api/{name}") == reads[name] + 1, name
        after = await _stored_allergy(database, app, allergy)
        assert after != before
        assert after == emu.expected("allergies")[str(allergy)]


async def test_nothing_is_re_read_once_the_poll_budget_share_is_spent(database: Database) -> None:
    app = await make_app(database)
    async with practice(patients=40, appointments=40) as emu:
        engine = SyncEngine(database, emu.clients, default_mapping())
        await _backfill(engine, app)
        budget = Budget(database)
        usage = await budget.usage(app)
        poll_share = ceiling(Priority.POLL, usage.limit)
        wanted_left = int(poll_share * engine.options.refresh_min_share) - 1
        await budget.reserve(app, Priority.POLL, cost=usage.available(Priority.POLL) - wanted_left)
        allergy, patient = _an_allergy(emu)
        before = await _stored_allergy(database, app, allergy)
        emu.state.records.update("allergies", allergy, {"reaction": "Hives (synthetic)"})
        emu.state.records.update("patients", patient, {"cell_phone": "(217) 555-0199"})
        reads = {name: await _calls(emu, f"/api/{name}") for name in REFRESHED}

        poll = await engine.run(app, "patients")

        assert (poll.mode, poll.changed_ids, poll.refreshed) == ("incremental", (str(patient),), 0)
        for name in REFRESHED:
            assert await _calls(emu, f"/api/{name}") == reads[name], name
        assert await _stored_allergy(database, app, allergy) == before  # the next scan's job
