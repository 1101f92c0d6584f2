"""Durable sync jobs on DBOS (docs/workers.md, docs/sync.md).

- `sync_resource(app_id, resource, mode, job)`: one run of the engine for one (app, resource),
  on the `sync` queue, partitioned by app (one sync of an app at a time, cluster-wide). The run
  is one step: a worker killed mid-run re-runs the step after recovery, and the engine resumes
  from its committed cursor and staged pages, so nothing is fetched twice or lost.
- `plan_tick(scheduled_at, context)`: the planner schedule (`schedules()`, every 30 s by
  default): enqueues every due (app, resource) with a deterministic workflow id, then claims it
  (moves its due time forward) so the next tick does not enqueue it again.

Every process that runs jobs must import this module (`WORKFLOW_MODULE`) and may `install` an
engine factory (see `_context_jobs`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from chronobridge.errors import HubError, Retriable
from chronobridge.store import CursorRow, Cursors, Database
from chronobridge.sync._context_jobs import current_engine, fresh_engine
from chronobridge.sync._planner import Due
from chronobridge.sync._report import RunStatus
from chronobridge.workers import (
    SYNC,
    Job,
    Jobs,
    Schedule,
    current_runtime,
    every,
    job_id,
    step,
    workflow,
)

__all__ = [
    "CLAIM",
    "MAX_RECOVERIES",
    "PLANNER",
    "WORKFLOW_MODULE",
    "SyncBusy",
    "enqueue_sync",
    "plan_tick",
    "schedules",
    "sync_resource",
]

WORKFLOW_MODULE = __name__
PLANNER = "sync-planner"
CLAIM = timedelta(minutes=15)
MAX_RECOVERIES = 100
"""A run resumes from its cursor after every crash, so each recovery makes progress: a long
backfill may live through many restarts (deploys, kills) before it finishes."""
"""An enqueued resource is not due again for this long (its run sets the real due time)."""


class SyncBusy(HubError, Retriable):
    """Another process is running this sync (or its lock is not released yet)."""

    hint = "The job tries again in a moment."


@workflow("chronobridge.sync.resource", max_recovery_attempts=MAX_RECOVERIES)
async def sync_resource(app_id: int, resource: str, mode: str, job: str) -> dict[str, Any]:
    """One sync run; returns its counts (no patient data)."""
    return await _run(app_id, resource, mode, job)


@step(attempts=6, interval_sec=1.0)
async def _run(app_id: int, resource: str, mode: str, job: str) -> dict[str, Any]:
    engine = await current_engine()
    report = await engine.run(app_id, resource, mode=mode, workflow_id=job)
    if report.status is RunStatus.BUSY:
        raise SyncBusy(f"The sync of {resource} for app {app_id} is running elsewhere.")
    return report.counts()


@workflow("chronobridge.sync.plan")
def plan_tick(scheduled_at: datetime, context: Any) -> None:
    """The planner schedule (its step's result: how many syncs it enqueued).

    Synchronous on purpose: DBOS runs it on a worker thread, where the step builds its own
    short-lived engine on a fresh event loop (an async scheduled workflow dequeued while a
    worker stops would be left un-awaited)."""
    _plan_and_enqueue(scheduled_at.isoformat())


@step()
def _plan_and_enqueue(tick: str) -> int:
    return asyncio.run(_plan())


async def _plan() -> int:
    engine = await fresh_engine()
    try:
        jobs = current_runtime().jobs
        due = await engine.plan_due()
        for item in due:
            await enqueue_sync(jobs, item)
            await _claim(engine.db, item, until=engine.clock() + CLAIM, now=engine.clock())
        return len(due)
    finally:
        await engine.db.close()


async def enqueue_sync(jobs: Jobs, due: Due) -> str:
    """Enqueue the sync of one due (app, resource); the same due moment is the same job."""
    wid = job_id("sync", due.key.replace(":", "-"))
    job = Job(queue=SYNC, workflow_id=wid, partition_key=f"app-{due.app_id}")
    return await jobs.enqueue_async(job, sync_resource, due.app_id, due.resource, due.mode, wid)


async def _claim(db: Database, due: Due, *, until: datetime, now: datetime) -> None:
    cursors = Cursors(db)
    if due.mode == "reconcile":
        return  # reconciliation is keyed by its last run: re-enqueueing it is the same job
    if await cursors.get(app_id=due.app_id, resource=due.resource) is None:
        row = CursorRow(app_id=due.app_id, resource=due.resource, next_due_at=until)
        await cursors.save(row, now=now)
        return
    await cursors.reschedule(app_id=due.app_id, resource=due.resource, next_due_at=until, now=now)


def schedules(every_seconds: int = 30) -> tuple[Schedule, ...]:
    """The planner's schedule, for `WorkerConfig(schedules=...)`."""
    return (Schedule(name=PLANNER, workflow=plan_tick, cron=every(every_seconds)),)
