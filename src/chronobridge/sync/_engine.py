"""The sync engine: runs of one (app, resource) at a time, in-process or inside DBOS workflows.

    engine = SyncEngine(db, ConnectionClients(services=services), default_mapping())
    report = await engine.run(app_id, "patients", mode="auto", progress=print)
    due = await engine.plan_due()          # what the planner should enqueue now

`run` takes the (app, resource) lock (a second caller gets status BUSY), resumes a run in
progress or starts the one the cursor calls for (backfill, incremental, scan, reconcile), and
never raises for DrChrono's answers: a spent budget pauses the run until the hour turns, an
unusable connection or a refused resource stops it, other API errors fail it; in every case the
cursor keeps its place and the report says when to come back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from chronobridge.domain.budget import Priority, ceiling
from chronobridge.domain.events import ChangeSource
from chronobridge.domain.mappings import CompiledMapping
from chronobridge.domain.timezones import TimeZones
from chronobridge.errors import (
    ApiError,
    BudgetExhausted,
    ConfigError,
    NeedsReconnect,
    OAuthError,
    PermissionDenied,
    TransportError,
    Unauthorized,
)
from chronobridge.store import Budget, Cursors, Database, Records, StagedPages, sync_lock
from chronobridge.sync._clients import CallCounter, ClientSource, Lease
from chronobridge.sync._context import RunContext
from chronobridge.sync._ingest import IngestHook
from chronobridge.sync._options import EngineOptions
from chronobridge.sync._plan import FIRST, ResourcePlan, plan_for, syncable
from chronobridge.sync._planner import Due, plan_due
from chronobridge.sync._refresh import refresh_patients
from chronobridge.sync._report import ProgressCallback, RunStatus, SyncReport
from chronobridge.sync._retry import RetryReport, retry_errors
from chronobridge.sync._runner import Runner
from chronobridge.sync._start import choose_mode, halt_run, start_run
from chronobridge.sync._state import RunMode, SyncState

__all__ = ["SyncEngine"]

log = logging.getLogger("chronobridge.sync")
_STOPPING = (NeedsReconnect, Unauthorized, OAuthError, PermissionDenied)


class SyncEngine:
    def __init__(
        self,
        db: Database,
        clients: ClientSource,
        mapping: CompiledMapping,
        *,
        hooks: Sequence[IngestHook] = (),
        options: EngineOptions | None = None,
        resources: Sequence[str] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.db, self.clients, self.mapping = db, clients, mapping
        self.hooks = tuple(hooks)
        self.options = options or EngineOptions()
        self.resources = tuple(resources) if resources is not None else syncable()
        self.clock = clock or (lambda: datetime.now(UTC))

    async def run(
        self,
        app_id: int,
        resource: str,
        *,
        mode: str = "auto",
        progress: ProgressCallback | None = None,
        workflow_id: str | None = None,
        source: ChangeSource = ChangeSource.POLL,
    ) -> SyncReport:
        """One run (see the module docstring). `mode`: auto, full (read everything again,
        restarting the bookmark) or reconcile (a full id pass that finds deletions). `source`
        tags the change events of the records it reads (`webhooks reconcile` counts its own)."""
        plan = _plan(resource)
        if resource not in FIRST and not await self._has_doctors(app_id):
            await self.run(app_id, "doctors", workflow_id=workflow_id)  # their time zones
        async with sync_lock(self.db, app_id=app_id, resource=resource) as held:
            if not held:
                return SyncReport(
                    app_id=app_id, resource=resource, mode=mode, status=RunStatus.BUSY
                )
            return await self._locked(app_id, plan, mode, progress, workflow_id, source)

    async def run_many(
        self,
        app_id: int,
        resources: Sequence[str] | None = None,
        *,
        mode: str = "auto",
        progress: ProgressCallback | None = None,
    ) -> list[SyncReport]:
        """Several resources in sync order (doctors, offices and users first)."""
        wanted = set(resources or self.resources)
        ordered = [name for name in syncable() if name in wanted]
        return [await self.run(app_id, name, mode=mode, progress=progress) for name in ordered]

    async def plan_due(
        self, now: datetime | None = None, *, app_ids: Sequence[int] | None = None
    ) -> list[Due]:
        """What is due now, for the apps with an active connection (or `app_ids`)."""
        return await plan_due(
            self.db,
            now=now or self.clock(),
            resources=self.resources,
            policy=self.options.intervals,
            app_ids=app_ids,
        )

    async def timezones(self, app_id: int) -> TimeZones:
        """The practice's time zones, from the stored doctors."""
        doctors = await Records(self.db).page(app_id=app_id, resource="doctors", limit=10_000)
        return TimeZones.from_doctors([d.payload for d in doctors])

    async def retry_errors(
        self, *, app_id: int | None = None, resource: str | None = None
    ) -> RetryReport:
        """Map the raw records of open mapping errors again with the current mapping."""
        return await retry_errors(
            self.db,
            mapping=self.mapping,
            timezones_of=self.timezones,
            app_id=app_id,
            resource=resource,
            hooks=self.hooks,
            now=self.clock(),
        )

    async def _has_doctors(self, app_id: int) -> bool:
        return await Records(self.db).count(app_id=app_id, resource="doctors") > 0

    # --- one locked run ------------------------------------------------------------------

    async def _locked(
        self,
        app_id: int,
        plan: ResourcePlan,
        requested: str,
        progress: ProgressCallback | None,
        workflow_id: str | None,
        source: ChangeSource,
    ) -> SyncReport:
        retention = self.clock() - self.options.staged_retention
        await StagedPages(self.db).purge(processed_before=retention)
        row = await Cursors(self.db).get(app_id=app_id, resource=plan.resource)
        interval = self.options.intervals.initial
        state = SyncState.load(row, app_id=app_id, resource=plan.resource, interval=interval)
        mode = choose_mode(state, plan, requested)
        counter, runner = CallCounter(), None
        priority = _priority(mode)
        try:
            async with self.clients.lease(app_id, priority=priority, counter=counter) as lease:
                ctx = await self._context(app_id, plan, lease, counter, progress, priority)
                started, started_at = await start_run(
                    ctx, state, mode, full=requested == "full", workflow_id=workflow_id
                )
                runner = Runner(ctx, started, started_at=started_at, source=source)
                await runner.run()
                report = _report(app_id, plan, mode, runner, counter, RunStatus.DONE)
                return await self._after(ctx, report)
        except BudgetExhausted as error:
            return await self._halt(app_id, plan, mode, runner, counter, error, error.resume_at)
        except _STOPPING as error:
            return await self._halt(app_id, plan, mode, runner, counter, error, None)
        except (ApiError, TransportError) as error:
            return await self._halt(app_id, plan, mode, runner, counter, error, None)

    async def _context(
        self,
        app_id: int,
        plan: ResourcePlan,
        lease: Lease,
        counter: CallCounter,
        progress: ProgressCallback | None,
        priority: Priority,
    ) -> RunContext:
        async def budget() -> tuple[int | None, float]:
            usage = await Budget(self.db).usage(app_id, now=self.clock())
            poll = ceiling(Priority.POLL, usage.limit) or 1
            return usage.available(priority), usage.available(Priority.POLL) / poll

        return RunContext(
            db=self.db,
            app_id=app_id,
            plan=plan,
            mapping=self.mapping,
            timezones=await self.timezones(app_id),
            hooks=self.hooks,
            options=self.options,
            client=lease.client,
            connection_id=lease.connection_id,
            counter=counter,
            clock=self.clock,
            budget=budget,
            progress=progress,
        )

    async def _after(self, ctx: RunContext, report: SyncReport) -> SyncReport:
        """A patients poll that saw changes refreshes those patients' allergies & co."""
        if report.run_id is not None:
            await StagedPages(self.db).purge(run_id=report.run_id)
        if ctx.resource != "patients" or report.mode != RunMode.INCREMENTAL.value:
            return report
        refreshed = await refresh_patients(ctx, report.changed_ids)
        return _with(report, refreshed=refreshed, calls=ctx.counter.calls)

    async def _halt(
        self,
        app_id: int,
        plan: ResourcePlan,
        mode: RunMode,
        runner: Runner | None,
        counter: CallCounter,
        error: Exception,
        resume_at: datetime | None,
    ) -> SyncReport:
        status, retry = _outcome(error, resume_at, self.clock(), self.options)
        report = _report(app_id, plan, mode, runner, counter, status, error=error)
        log.warning(
            "Sync of %s (app %s) %s: %s", plan.resource, app_id, status.value, type(error).__name__
        )
        await halt_run(self.db, report, retry_at=retry, now=self.clock())
        return _with(report, resume_at=retry)


def _plan(resource: str) -> ResourcePlan:
    try:
        return plan_for(resource)
    except KeyError:
        raise ConfigError(
            f"{resource!r} cannot be synced",
            hint="chronobridge sync --list shows the resources that can.",
        ) from None


def _priority(mode: RunMode) -> Priority:
    """Full passes that can wait (a backfill, a reconciliation) spend the backfill share of
    the hour; polls and scans, which keep the store current, the poll share."""
    if mode in (RunMode.BACKFILL, RunMode.RECONCILE):
        return Priority.BACKFILL
    return Priority.POLL


def _outcome(
    error: Exception, resume_at: datetime | None, now: datetime, options: EngineOptions
) -> tuple[RunStatus, datetime]:
    policy = options.intervals
    if isinstance(error, BudgetExhausted):
        return RunStatus.PAUSED, resume_at or now + timedelta(seconds=policy.minimum)
    if isinstance(error, PermissionDenied):
        return RunStatus.STOPPED, now + timedelta(seconds=policy.refused)
    if isinstance(error, _STOPPING):
        return RunStatus.STOPPED, now + timedelta(seconds=policy.retry_after_failure)
    return RunStatus.FAILED, now + timedelta(seconds=policy.retry_after_failure)


def _report(
    app_id: int,
    plan: ResourcePlan,
    mode: RunMode,
    runner: Runner | None,
    counter: CallCounter,
    status: RunStatus,
    *,
    error: Exception | None = None,
) -> SyncReport:
    totals = runner.totals if runner is not None else None
    return SyncReport(
        app_id=app_id,
        resource=plan.resource,
        mode=mode.value,
        status=status,
        run_id=runner.run_id if runner is not None else None,
        pages=totals.pages if totals else 0,
        records=totals.records if totals else 0,
        created=totals.created if totals else 0,
        updated=totals.updated if totals else 0,
        unchanged=totals.unchanged if totals else 0,
        deleted=totals.deleted if totals else 0,
        failed=totals.failed if totals else 0,
        calls=counter.calls,
        deletions_held=totals.deletions_held if totals else 0,
        error_class=None if error is None else type(error).__name__,
        changed_ids=tuple(runner.changed) if runner is not None else (),
    )


def _with(report: SyncReport, **changes: Any) -> SyncReport:
    return replace(report, **changes)
