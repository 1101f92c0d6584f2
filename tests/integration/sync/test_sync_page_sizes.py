"""Complete passes read the largest page the catalog allows, batch endpoints included: clinical
note field values in batch pages of 20,000, eligibility checks (no `since` on the list, a batch
endpoint all the same) scanned through the batch in pages of 1,000, never the list's 250."""

from __future__ import annotations

import math

from sync_emulator import Practice, practice
from sync_support import make_app

from chronobridge.catalog import CATALOG, Kind
from chronobridge.domain.mappings import default_mapping
from chronobridge.emulator._seed import MAIN_PRACTICE
from chronobridge.store import Database, Records
from chronobridge.sync import RunStatus, Strategy, SyncEngine, plan_for


def _grow(emu: Practice, resource: str, total: int) -> int:
    """Copies of a seeded record of the main practice until it holds `total` (synthetic)."""
    mine = [r for r, meta in emu.state.records.scan(resource) if meta.practice == MAIN_PRACTICE]
    for n in range(total - len(mine)):
        copy = {k: v for k, v in mine[n % len(mine)].items() if k != "id"}
        emu.state.records.create(resource, copy, practice=MAIN_PRACTICE, notify=False)
    return len(emu.expected(resource))


def _largest_batch_page(resource: str) -> int:
    batch = CATALOG.resources[CATALOG.resources[resource].batch or ""]
    submit = batch.op(Kind.BATCH_SUBMIT)
    assert submit is not None
    assert submit.page_size_max is not None
    return submit.page_size_max


async def _per_path(emu: Practice) -> dict[str, int]:
    stats = (await emu.http.get("/_emulator/stats")).json()
    return {str(k): int(v) for k, v in stats["per_path"].items()}


async def test_clinical_note_field_values_backfill_in_batch_pages_of_twenty_thousand(
    database: Database,
) -> None:
    resource = "clinical_note_field_values"
    assert _largest_batch_page(resource) == 20_000
    app = await make_app(database)
    async with practice(patients=30, appointments=60) as emu:
        engine = SyncEngine(database, emu.clients, default_mapping())
        await engine.run(app, "doctors")
        total = _grow(emu, resource, 2_600)
        report = await engine.run(app, resource)
        assert (report.status, report.mode) == (RunStatus.DONE, "backfill")
        assert report.pages == math.ceil(total / 20_000) == 1  # 3 pages at 1,000, 11 at 250
        assert await Records(database).digests(app_id=app, resource=resource) == emu.expected(
            resource
        )
        assert (await _per_path(emu)).get(f"/api/{resource}", 0) == 0


async def test_eligibility_checks_are_scanned_through_their_batch_endpoint(
    database: Database,
) -> None:
    resource = "eligibility_checks"
    plan = plan_for(resource)
    assert (plan.strategy, plan.batch, plan.batch_page_size) == (Strategy.SCAN, True, 1000)
    app = await make_app(database)
    async with practice(patients=30, appointments=60) as emu:
        engine = SyncEngine(database, emu.clients, default_mapping())
        await engine.run(app, "doctors")
        total = _grow(emu, resource, 1_300)
        report = await engine.run(app, resource)
        assert (report.status, report.mode, report.created) == (RunStatus.DONE, "scan", total)
        assert report.pages == math.ceil(total / 1000) == 2  # 6 list pages of 250
        calls = await _per_path(emu)
        assert calls.get(f"/api/{resource}", 0) == 0  # the list was not read
        assert report.calls <= report.pages + 2  # the submit and its status poll on top
        assert await Records(database).digests(app_id=app, resource=resource) == emu.expected(
            resource
        )
