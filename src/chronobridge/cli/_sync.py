"""`chronobridge sync [RESOURCE...] [--full | --reconcile]`: bring the store up to date now.

Runs the sync engine in this process (the same runs the workers do), resource by resource in
sync order, with progress bars, and ends with a summary table. A spent budget pauses a resource
until the hour turns (the summary says when); exit code 1 when a resource failed or was stopped.

A resource another process is syncing right now (a worker's planner, `serve`'s embedded worker,
as in `chronobridge demo`) is waited for, then run: the run continues from where the other
left off (an incremental after its backfill), so the summary never shows `busy` for a sync
that merely overlapped. `--busy-wait 0` reports `busy` at once instead.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated

import typer

from chronobridge.cli._common import AppOpt, FormatOpt, OutputFormat, table
from chronobridge.cli._errors_out import fail, run
from chronobridge.cli._sync_common import MappingOpt, sync_session
from chronobridge.cli._sync_progress import SyncBars
from chronobridge.sync import (
    EngineOptions,
    Progress,
    ProgressCallback,
    ResourcePlan,
    RunStatus,
    SyncEngine,
    SyncReport,
    plan_for,
    syncable,
)

__all__ = ["register"]

ResourcesArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Resources to sync (default: every resource that can be).", show_default=False
    ),
]


BUSY_WAIT = 900.0
"""Seconds `sync` waits, per resource, for another process's run of it to end."""
BUSY_POLL = 0.5


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)


def sync(
    resources: ResourcesArg = None,
    *,
    full: Annotated[
        bool, typer.Option("--full", help="Read everything again (a new backfill).")
    ] = False,
    reconcile: Annotated[
        bool, typer.Option("--reconcile", help="A full id pass that finds deletions.")
    ] = False,
    app: AppOpt = None,
    mapping: MappingOpt = None,
    show: Annotated[
        bool, typer.Option("--list", help="List the resources and how each is synced.")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    busy_wait: Annotated[
        float,
        typer.Option(
            min=0, help="Seconds to wait for a resource another process is syncing (0: none)."
        ),
    ] = BUSY_WAIT,
    output: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Sync DrChrono into the store now: backfill, then incremental (or --full, --reconcile)."""
    if show:
        typer.echo(_resource_table())
        return
    if full and reconcile:
        fail("Choose one of --full and --reconcile.")
    mode = "full" if full else "reconcile" if reconcile else "auto"
    unknown = sorted(set(resources or ()) - set(syncable()))
    if unknown:
        fail(f"Cannot sync {', '.join(unknown)}. chronobridge sync --list shows what can be.")

    async def work() -> list[SyncReport]:
        async with sync_session(app, mapping) as session:
            with SyncBars(enabled=progress and output is OutputFormat.TABLE) as bars:
                return await run_resources(
                    session.engine, session.app.id, resources, mode, bars, busy_wait=busy_wait
                )

    reports = run(work)
    print_reports(reports, output)
    if any(r.status in (RunStatus.FAILED, RunStatus.STOPPED) for r in reports):
        raise typer.Exit(1)


async def run_resources(
    engine: SyncEngine,
    app_id: int,
    resources: list[str] | None,
    mode: str,
    bars: SyncBars,
    *,
    busy_wait: float = BUSY_WAIT,
) -> list[SyncReport]:
    wanted = set(resources or engine.resources)
    reports = []
    for name in [n for n in syncable() if n in wanted]:
        report = await _run_when_free(engine, app_id, name, mode, bars, busy_wait=busy_wait)
        bars.done(name)
        reports.append(report)
    return reports


async def _run_when_free(
    engine: SyncEngine, app_id: int, name: str, mode: str, bars: SyncBars, *, busy_wait: float
) -> SyncReport:
    """One run; while another process holds the resource's lock, try again every
    BUSY_POLL seconds until `busy_wait` has passed (the lock says nothing about when it ends)."""
    deadline = time.monotonic() + busy_wait
    while True:
        report = await engine.run(app_id, name, mode=mode, progress=_updater(bars))
        if report.status is not RunStatus.BUSY or time.monotonic() >= deadline:
            return report
        await asyncio.sleep(BUSY_POLL)


def _updater(bars: SyncBars) -> ProgressCallback:
    def update(progress: Progress) -> None:
        bars.update(progress)

    return update


def print_reports(reports: list[SyncReport], output: OutputFormat) -> None:
    if output is OutputFormat.JSON:
        typer.echo(json.dumps([r.counts() for r in reports], indent=2))
        return
    headers = ("RESOURCE", "MODE", "STATUS", "PAGES", "RECORDS", "NEW", "CHANGED", "DELETED",
               "UNMAPPED", "CALLS", "NOTE")  # fmt: skip
    rows = [
        (r.resource, r.mode, r.status.value, r.pages, r.records, r.created, r.updated, r.deleted,
         r.failed, r.calls, _note(r))
        for r in reports
    ]  # fmt: skip
    typer.echo(table(headers, rows))
    total = sum(r.records for r in reports), sum(r.calls for r in reports)
    typer.echo(f"synced {len(reports)} resources: {total[0]:,} records read, {total[1]} calls")


def _note(report: SyncReport) -> str | None:
    if report.status is RunStatus.PAUSED and report.resume_at is not None:
        return f"budget spent; resumes {report.resume_at:%H:%M} UTC"
    if report.error_class:
        return report.error_class
    if report.failed:
        return "see chronobridge errors list"
    return None


def _resource_table() -> str:
    """What the engine does, exactly: with the options `chronobridge sync` runs it with."""
    options = EngineOptions()
    rows = []
    for name in syncable():
        plan = plan_for(name)
        how = f"since ({plan.since_param})" if plan.since_param else "full scan"
        rows.append((name, how, f"{plan.page_size:,}", ", ".join(_extras(plan, options)) or None))
    return table(("RESOURCE", "INCREMENTAL", "PAGE", "ALSO"), rows)


def _extras(plan: ResourcePlan, options: EngineOptions) -> list[str]:
    parts = []
    if plan.batch_page_size and options.use_batch:
        parts.append(f"batch pages of {plan.batch_page_size:,}")
    if plan.reconcile:
        parts.append(_reconciled(plan, options))
    if plan.patient_filter and plan.resource in options.refresh_resources:
        parts.append("per-patient refresh")
    return parts


def _reconciled(plan: ResourcePlan, options: EngineOptions) -> str:
    seconds = options.intervals.reconcile_seconds(delete_webhook=plan.delete_webhook)
    every = {24 * 3600: "daily", 7 * 24 * 3600: "weekly"}.get(
        seconds, f"every {seconds / 3600:g} h"
    )
    return f"reconciled {every}" if seconds else "not reconciled"
