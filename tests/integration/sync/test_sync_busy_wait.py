"""`chronobridge sync` (and the demo's backfill, which runs the same loop) waits for a resource
another process is syncing instead of reporting `busy`: in the demo, `serve`'s embedded planner
starts the same backfills the CLI runs."""

from __future__ import annotations

import asyncio

from sync_emulator import practice
from sync_support import make_app

from chronobridge.cli._sync import run_resources
from chronobridge.cli._sync_progress import SyncBars
from chronobridge.domain.mappings import default_mapping
from chronobridge.store import Database, Records, sync_lock
from chronobridge.sync import RunStatus, SyncEngine


async def test_a_resource_held_elsewhere_is_waited_for_then_synced(database: Database) -> None:
    app = await make_app(database)
    async with practice(patients=50, appointments=20) as emu:
        engine = SyncEngine(database, emu.clients, default_mapping())
        bars = SyncBars(enabled=False)
        await run_resources(engine, app, ["doctors"], "auto", bars)
        release = asyncio.Event()
        held = asyncio.Event()

        async def other_process() -> None:  # another connection, as a worker would hold it
            async with sync_lock(database, app_id=app, resource="patients") as got:
                assert got
                held.set()
                await release.wait()

        holder = asyncio.create_task(other_process())
        await held.wait()
        at_once = await run_resources(engine, app, ["patients"], "auto", bars, busy_wait=0)
        assert [r.status for r in at_once] == [RunStatus.BUSY]
        waiting = asyncio.create_task(run_resources(engine, app, ["patients"], "auto", bars))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # still waiting: the lock is held
        release.set()
        await holder
        [report] = await waiting
        assert (report.status, report.mode, report.created) == (RunStatus.DONE, "backfill", 50)
        assert await Records(database).count(app_id=app, resource="patients") == 50
