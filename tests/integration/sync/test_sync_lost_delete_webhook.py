"""A deletion whose webhook was lost (DrChrono retries only 3 times) is still found: the planner
schedules a weekly reconciliation of webhook-covered resources (tasks here), within the
backfill priority's share of the hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync_emulator import practice
from sync_support import make_app

from chronobridge.domain.budget import Priority
from chronobridge.domain.mappings import default_mapping
from chronobridge.emulator._seed import MAIN_PRACTICE
from chronobridge.store import Budget, ChangeEvents, Cursors, Database, Records
from chronobridge.sync import Due, SyncEngine


def _reconciles(due: list[Due]) -> list[str]:
    return [d.resource for d in due if d.mode == "reconcile"]


async def test_a_deleted_task_without_its_webhook_is_found_by_the_weekly_pass(
    database: Database,
) -> None:
    app = await make_app(database)
    async with practice(patients=30, appointments=40) as emu:
        engine = SyncEngine(database, emu.clients, default_mapping(), resources=("tasks",))
        assert (await engine.run(app, "tasks")).mode == "backfill"
        mine = [r for r, m in emu.state.records.scan("tasks") if m.practice == MAIN_PRACTICE]
        gone = str(mine[0]["id"])
        emu.state.records.delete("tasks", int(gone))  # its TASK_DELETE webhook is lost
        assert (await engine.run(app, "tasks")).deleted == 0  # `since` cannot see it

        week = datetime.now(UTC) + timedelta(days=7, minutes=5)
        # The incremental poll is not due at this tick: the safety net is what remains.
        await Cursors(database).reschedule(
            app_id=app, resource="tasks", next_due_at=week + timedelta(hours=1), now=week
        )
        too_soon = week - timedelta(days=2)
        assert _reconciles(await engine.plan_due(app_ids=[app], now=too_soon)) == []
        assert _reconciles(await engine.plan_due(app_ids=[app], now=week)) == ["tasks"]

        budget = Budget(database)
        spent = (await budget.usage(app, now=week)).available(Priority.BACKFILL)
        await budget.reserve(app, Priority.BACKFILL, now=week, cost=spent)  # backfills ran
        assert _reconciles(await engine.plan_due(app_ids=[app], now=week)) == []  # no room
        next_hour = week + timedelta(hours=1)
        await Cursors(database).reschedule(
            app_id=app, resource="tasks", next_due_at=next_hour + timedelta(hours=1), now=week
        )
        assert _reconciles(await engine.plan_due(app_ids=[app], now=next_hour)) == ["tasks"]

        report = await engine.run(app, "tasks", mode="reconcile")
        assert (report.mode, report.deleted) == ("reconcile", 1)
        assert gone not in await Records(database).live_ids(app_id=app, resource="tasks")
        events = await ChangeEvents(database).after(app_id=app, limit=1000)
        assert [(e.external_id, e.kind) for e in events if e.kind == "deleted"] == [
            (gone, "deleted")
        ]
