"""Starting, resuming and halting runs: which mode, the run row, the cursor committed first."""

from __future__ import annotations

from datetime import datetime

from chronobridge.domain.cursors import Cursor, start
from chronobridge.store import CursorRow, Cursors, Database, StagedPages, SyncRuns
from chronobridge.sync._context import RunContext
from chronobridge.sync._plan import ResourcePlan, Strategy
from chronobridge.sync._report import RunStatus, SyncReport
from chronobridge.sync._state import RunMode, SyncState

__all__ = ["choose_mode", "halt_run", "start_run"]


def choose_mode(state: SyncState, plan: ResourcePlan, requested: str) -> RunMode:
    """A run in progress is resumed first (unless `full` restarts everything); then: scans
    for resources without `since`, a backfill before the first bookmark, else incremental."""
    if requested not in ("auto", "full", "reconcile"):
        raise ValueError(f"unknown sync mode {requested!r}")
    scan = plan.strategy is Strategy.SCAN
    if requested == "full":
        return RunMode.SCAN if scan else RunMode.BACKFILL
    if state.in_progress and state.run_mode is not None:
        return state.run_mode
    if scan:
        return RunMode.SCAN
    if requested == "reconcile":
        return RunMode.RECONCILE
    return RunMode.BACKFILL if state.cursor.bookmark is None else RunMode.INCREMENTAL


async def start_run(
    ctx: RunContext, state: SyncState, mode: RunMode, *, full: bool, workflow_id: str | None
) -> tuple[SyncState, datetime]:
    """The state with its run started (or resumed), and when the run first started."""
    runs = SyncRuns(ctx.db)
    if state.in_progress and state.run_id is not None:
        if not full:
            await runs.resume(
                state.run_id, connection_id=ctx.connection_id, workflow_id=workflow_id
            )
            found = await runs.get(state.run_id)
            return state, found.started_at if found is not None else ctx.now()
        await runs.finish(state.run_id, status="stopped", now=ctx.now(), error_class="Restarted")
        await StagedPages(ctx.db).discard(state.run_id)
    now = ctx.now()
    cursor = state.cursor
    if full and mode is RunMode.BACKFILL:
        cursor = Cursor(resource=ctx.resource)
    if mode.moves_cursor:
        cursor = start(cursor, now=now, timezones=ctx.timezones, policy=ctx.cursor_policy)
    async with ctx.db.write() as tx:
        run_id = await runs.start(
            app_id=ctx.app_id,
            connection_id=ctx.connection_id,
            resource=ctx.resource,
            mode=mode.value,
            now=now,
            workflow_id=workflow_id,
            tx=tx,
        )
        started = state.started(run_id, mode, cursor)
        await Cursors(ctx.db).save(started.to_row(), now=now, tx=tx)
    return started, now


async def halt_run(db: Database, report: SyncReport, *, retry_at: datetime, now: datetime) -> None:
    """Record why the run stopped and when to come back; the cursor keeps its place."""
    if report.run_id is not None:
        status = "failed" if report.status is RunStatus.FAILED else "stopped"
        await SyncRuns(db).finish(
            report.run_id, status=status, now=now, error_class=report.error_class
        )
    cursors = Cursors(db)
    if await cursors.get(app_id=report.app_id, resource=report.resource) is None:
        row = CursorRow(app_id=report.app_id, resource=report.resource, next_due_at=retry_at)
        await cursors.save(row, now=now)
        return
    await cursors.reschedule(
        app_id=report.app_id, resource=report.resource, next_due_at=retry_at, now=now
    )
