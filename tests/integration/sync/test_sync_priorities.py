"""Which share of the hour's budget each kind of run spends: a backfill and a reconciliation
(full passes that can wait) the backfill share, an incremental poll the poll share."""

from __future__ import annotations

from sync_emulator import practice
from sync_support import make_app

from chronobridge.domain.budget import Priority
from chronobridge.domain.mappings import default_mapping
from chronobridge.store import Database
from chronobridge.sync import SyncEngine


async def test_backfill_and_reconcile_spend_the_backfill_share_polls_the_poll_share(
    database: Database,
) -> None:
    app = await make_app(database)
    async with practice(patients=20, appointments=30) as emu:
        engine = SyncEngine(database, emu.clients, default_mapping(), resources=("tasks",))
        await engine.run(app, "doctors")  # else the first run reads them (time zones) first
        spent: dict[str, set[Priority]] = {}
        for mode in ("auto", "auto", "reconcile"):
            emu.budget.reserved.clear()
            report = await engine.run(app, "tasks", mode=mode)
            assert report.calls > 0
            spent[report.mode] = set(emu.budget.reserved)
    assert spent == {
        "backfill": {Priority.BACKFILL},
        "incremental": {Priority.POLL},
        "reconcile": {Priority.BACKFILL},
    }
