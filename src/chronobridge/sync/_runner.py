"""One sync run of one (app, resource): stage each fetched page, then process it.

Per page: the HTTP answer is staged (encrypted) in its own short transaction; then, in one
transaction, its records are ingested, the cursor moves (bookmark candidates, boundary tokens,
the resume reference), the staged page is marked processed and the run's counters grow. The
last page also ends the run in that transaction: the bookmark moves to
`min(highest updated_at, signpost)`, a complete pass marks the ids it did not see as deleted,
and the next poll is scheduled. A crash anywhere loses nothing: unprocessed staged pages are
processed first on the next start (no call repeated), then fetching continues from the
committed resume reference.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.domain.cursors import advance, finish
from chronobridge.domain.events import ChangeSource
from chronobridge.domain.records import RecordVersion
from chronobridge.store import Cursors, StagedPages, SyncRuns
from chronobridge.sync._context import RunContext
from chronobridge.sync._delete import mark_deleted
from chronobridge.sync._ingest import Batch, IngestReport, ingest_prepared
from chronobridge.sync._prepare import Incoming, prepare
from chronobridge.sync._report import Progress
from chronobridge.sync._sources import Fetched, batch_pages, list_pages
from chronobridge.sync._state import RunMode, SyncState
from chronobridge.sync._wrapup import wrap_up

__all__ = ["Runner", "Totals"]

log = logging.getLogger("chronobridge.sync")
CHANGED_KEPT = 1000
"""Ids of changed records a run keeps for its report (memory must not grow with a backfill)."""


@dataclass(slots=True)
class Totals:
    pages: int = 0
    records: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    calls: int = 0
    deletions_held: int = 0
    total_pages: int | None = None

    def add(self, counts: Mapping[str, int]) -> None:
        for name, value in counts.items():
            setattr(self, name, getattr(self, name) + value)


class Runner:
    """Drives one run to its end (or to the first error, which the engine handles)."""

    def __init__(
        self,
        ctx: RunContext,
        state: SyncState,
        *,
        started_at: datetime,
        source: ChangeSource = ChangeSource.POLL,
    ) -> None:
        if state.run_id is None or state.run_mode is None:
            raise ValueError("the run must be started first")
        self.ctx, self.state = ctx, state
        self.run_id, self.mode = state.run_id, state.run_mode
        self.started_at = started_at
        self.source = source
        self.totals = Totals()
        self.changed: list[str] = []
        self._counted_calls = 0
        self._page_no = 0

    async def run(self) -> None:
        staged = StagedPages(self.ctx.db)
        self._page_no = await staged.last_page_no(self.run_id)
        for page in await staged.pending(self.run_id):
            await self._process(page.records, page.resume_after, staged_id=page.id)
        if not self.state.in_progress:
            return
        async for fetched in self._pages(self.state.row.resume):
            self._page_no += 1
            self.totals.total_pages = fetched.pages
            staged_id = await staged.stage(
                run_id=self.run_id,
                app_id=self.ctx.app_id,
                resource=self.ctx.resource,
                page_no=self._page_no,
                resume_after=fetched.resume_after,
                records=fetched.records,
                now=self.ctx.now(),
            )
            await self._process(fetched.records, fetched.resume_after, staged_id=staged_id)
            if fetched.resume_after is None:
                return

    def _pages(self, resume: str | None) -> AsyncIterator[Fetched]:
        ctx, client = self.ctx, self.ctx.client
        filters = _filters(ctx, self.state, self.mode)
        if ctx.batched(self.mode):
            return batch_pages(client, ctx.resource, resume=resume, filters=filters)
        if resume is not None and resume.startswith("{"):
            resume = None  # a batch reference, and batches are off now: read the list instead
        return list_pages(
            client, ctx.resource, resume=resume, page_size=ctx.page_size, filters=filters
        )

    async def _process(
        self, records: Sequence[dict[str, Any]], resume_after: str | None, *, staged_id: int
    ) -> None:
        ctx, last = self.ctx, resume_after is None
        incoming, invalid = prepare(records, timezones=ctx.timezones)
        chosen, cursor = self._advance(incoming, resume_after, last=last)
        share = await ctx.budget_share() if last else 1.0
        now = ctx.now()
        async with ctx.db.write() as tx:
            report = await ingest_prepared(
                ctx.db,
                tx,
                app_id=ctx.app_id,
                resource=ctx.resource,
                batch=Batch(incoming=chosen, received=len(chosen), invalid=invalid),
                options=ctx.ingest_options(self.source),
                now=now,
            )
            deleted = await self._archived(tx, chosen, now)
            counts = self._counts(report, records, deleted)
            state = self.state.but_cursor(cursor, resume=resume_after)
            if last:
                state = await self._finish(tx, state, counts, share, now)
            await Cursors(ctx.db).save(state.to_row(), now=now, tx=tx)
            await StagedPages(ctx.db).processed(tx, staged_id, now=now)
            await SyncRuns(ctx.db).add(tx, self.run_id, counts)
        self.state = state  # only once committed: an error above leaves the old state
        self.totals.add(counts)
        room = CHANGED_KEPT - len(self.changed)
        if room > 0:
            self.changed.extend(report.changed_ids[:room])
        await self._report_progress()

    def _advance(
        self, incoming: list[Incoming], resume_after: str | None, *, last: bool
    ) -> tuple[list[Incoming], Any]:
        """Which records to ingest, and the cursor to commit with them."""
        ctx, cursor = self.ctx, self.state.cursor
        if not self.mode.moves_cursor:
            return incoming, cursor  # a full pass: every record counts as seen
        versions = [
            RecordVersion(
                resource=ctx.resource,
                record_id=item.external_id,
                updated_at=item.write.updated_at,
                digest=item.write.digest[:32],
            )
            for item in incoming
        ]
        moved = advance(
            cursor,
            versions,
            next_page=resume_after,
            timezones=ctx.timezones,
            policy=ctx.cursor_policy,
        )
        fresh = {v.record_id for v in moved.fresh}
        cursor = moved.cursor
        if last:
            cursor = finish(cursor, timezones=ctx.timezones, policy=ctx.cursor_policy)
        return [item for item in incoming if item.external_id in fresh], cursor

    async def _archived(self, tx: AsyncConnection, chosen: list[Incoming], now: datetime) -> int:
        """Lists read with `show_archived`: records flagged deleted are recorded as deleted."""
        if "show_archived" not in self.ctx.plan.filters:
            return 0
        gone = [item.external_id for item in chosen if item.record.get("deleted_flag") is True]
        if not gone:
            return 0
        report = await mark_deleted(
            self.ctx.db,
            app_id=self.ctx.app_id,
            resource=self.ctx.resource,
            external_ids=gone,
            source=self.source,
            connection_id=self.ctx.connection_id,
            now=now,
            tx=tx,
        )
        return report.marked

    def _counts(self, report: IngestReport, records: Sequence[Any], deleted: int) -> dict[str, int]:
        calls = self.ctx.counter.calls - self._counted_calls
        self._counted_calls = self.ctx.counter.calls
        return {
            "pages": 1,
            "records": len(records),
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged + report.stale + (len(records) - report.received),
            "deleted": deleted,
            "failed": report.failed,
            "calls": calls,
        }

    async def _finish(
        self,
        tx: AsyncConnection,
        state: SyncState,
        counts: dict[str, int],
        share: float,
        now: datetime,
    ) -> SyncState:
        """End the run inside the last page's transaction (its deletions join `counts`)."""
        totals = self.totals
        changed = totals.created + totals.updated + totals.deleted
        changed += counts["created"] + counts["updated"] + counts["deleted"]
        outcome = await wrap_up(
            self.ctx,
            tx,
            state=state,
            mode=self.mode,
            run_id=self.run_id,
            started_at=self.started_at,
            changed=changed,
            share=share,
            now=now,
        )
        counts["deleted"] += outcome.deleted
        totals.deletions_held += outcome.held
        return outcome.state

    async def _report_progress(self) -> None:
        callback = self.ctx.progress
        if callback is None:
            return
        progress = Progress(
            app_id=self.ctx.app_id,
            resource=self.ctx.resource,
            mode=self.mode.value,
            pages=self.totals.pages,
            records=self.totals.records,
            calls=self.ctx.counter.calls,
            total_pages=self.totals.total_pages,
            budget_left=await self.ctx.budget_left(),
        )
        outcome = callback(progress)
        if inspect.isawaitable(outcome):
            await outcome


def _filters(ctx: RunContext, state: SyncState, mode: RunMode) -> dict[str, object]:
    plan = ctx.plan
    filters: dict[str, object] = dict(plan.filters)
    since = state.cursor.since_param() if mode is RunMode.INCREMENTAL else None
    if since is not None and plan.since_param is not None:
        filters[plan.since_param] = since
    else:
        filters.update(plan.backfill_filters)
    return filters
