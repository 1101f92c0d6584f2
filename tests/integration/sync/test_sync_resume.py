"""Runs that stop midway resume where they stopped: a crash after a page was fetched (its staged
copy is processed, DrChrono is not called again), a spent budget, an unusable connection."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection
from sync_emulator import practice
from sync_support import connect_app, make_app

from chronobridge.connections import Services
from chronobridge.domain.mappings import default_mapping
from chronobridge.store import (
    ChangeEvents,
    Connections,
    ConnectionStatus,
    Database,
    Records,
    StagedPages,
    SyncRuns,
)
from chronobridge.sync import (
    ConnectionClients,
    EngineOptions,
    RunStatus,
    StoredModelRow,
    SyncEngine,
)
from support.servers import running_server

LIST_OF_100 = EngineOptions(use_batch=False, page_size=100)


class Crash(Exception):
    """Stands for the process dying in the middle of a page's transaction."""


class CrashOnPage:
    """An ingest hook that fails the transaction of the n-th batch of patient rows once."""

    def __init__(self, page: int) -> None:
        self.page, self.seen = page, 0

    async def after_rows(
        self, tx: AsyncConnection, app_id: int, rows: Sequence[StoredModelRow]
    ) -> None:
        self.seen += 1
        if self.seen == self.page:
            raise Crash


async def test_a_page_staged_before_a_crash_is_processed_without_a_call(database: Database) -> None:
    app = await make_app(database)
    async with practice(patients=500, appointments=20) as emu:
        await SyncEngine(database, emu.clients, default_mapping()).run(app, "doctors")
        crashing = SyncEngine(
            database, emu.clients, default_mapping(), hooks=[CrashOnPage(3)], options=LIST_OF_100
        )
        before = await emu.stats_total()
        with pytest.raises(Crash):
            await crashing.run(app, "patients")
        assert await emu.stats_total() - before == 3  # pages 1-3 fetched, page 3 not stored
        assert await Records(database).count(app_id=app, resource="patients") == 200
        [run] = await SyncRuns(database).recent(app_id=app, resource="patients")
        assert (run.status, run.pages) == ("running", 2)
        assert await StagedPages(database).count(run_id=run.id, pending=True) == 1
        engine = SyncEngine(database, emu.clients, default_mapping(), options=LIST_OF_100)
        report = await engine.run(app, "patients")
        assert report.status is RunStatus.DONE
        assert report.calls == 2  # pages 4 and 5: page 3 came from its staged copy
        assert await emu.stats_total() - before == 5
        stored = await Records(database).digests(app_id=app, resource="patients")
        assert stored == emu.expected("patients")
        assert await ChangeEvents(database).count(app_id=app, resource="patients") == 500
        [resumed] = await SyncRuns(database).recent(app_id=app, resource="patients")
        assert (resumed.id, resumed.status, resumed.pages, resumed.records) == (
            run.id,
            "done",
            5,
            500,
        )
        assert await StagedPages(database).count(run_id=run.id) == 0  # purged at the run's end


async def test_a_spent_budget_pauses_the_run_and_the_next_run_resumes_it(
    database: Database,
) -> None:
    app = await make_app(database)
    async with practice(patients=500, appointments=20) as emu:
        await SyncEngine(database, emu.clients, default_mapping()).run(app, "doctors")
        emu.clients.budget.limit = emu.clients.budget.used + 2  # type: ignore[attr-defined]
        engine = SyncEngine(database, emu.clients, default_mapping(), options=LIST_OF_100)
        paused = await engine.run(app, "patients")
        assert (paused.status, paused.pages, paused.error_class) == (
            RunStatus.PAUSED, 2, "BudgetExhausted"
        )  # fmt: skip
        assert paused.resume_at is not None
        due = await engine.plan_due(app_ids=[app], now=paused.resume_at)
        assert [(d.resource, d.mode) for d in due if d.resource == "patients"] == [
            ("patients", "auto")
        ]
        emu.clients.budget.limit = None  # type: ignore[attr-defined]  # the hour turned
        resumed = await engine.run(app, "patients")
        assert (resumed.status, resumed.mode, resumed.pages) == (RunStatus.DONE, "backfill", 3)
        assert resumed.run_id == paused.run_id
        assert await Records(database).count(app_id=app, resource="patients") == 500


async def test_a_connection_that_needs_reconnecting_stops_the_sync(database: Database) -> None:
    from chronobridge.emulator import EmulatorConfig, create_app

    with running_server(create_app(EmulatorConfig(patients=20, appointments=20))) as url:
        app, connection = await connect_app(database, url)
        engine = SyncEngine(database, ConnectionClients(services=Services(db=database)),
                            default_mapping())  # fmt: skip
        assert (await engine.run(app, "patients")).status is RunStatus.DONE
        await Connections(database).set_status(connection, ConnectionStatus.NEEDS_RECONNECT)
        stopped = await engine.run(app, "patients")
        assert (stopped.status, stopped.error_class) == (RunStatus.STOPPED, "NeedsReconnect")
        assert await engine.plan_due(now=stopped.resume_at) == []  # no active connection
