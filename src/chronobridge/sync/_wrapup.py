"""The end of a run, inside its last page's transaction: deletions, schedule, run row."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.domain.deletions import detect_deletions
from chronobridge.domain.events import ChangeSource
from chronobridge.store import Records, SyncRuns
from chronobridge.sync._context import RunContext
from chronobridge.sync._delete import mark_deleted
from chronobridge.sync._intervals import next_interval
from chronobridge.sync._plan import Strategy
from chronobridge.sync._state import RunMode, SyncState

__all__ = ["Outcome", "wrap_up"]

log = logging.getLogger("chronobridge.sync")


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    state: SyncState
    deleted: int = 0
    held: int = 0


async def wrap_up(
    ctx: RunContext,
    tx: AsyncConnection,
    *,
    state: SyncState,
    mode: RunMode,
    run_id: int,
    started_at: datetime,
    changed: int,
    share: float,
    now: datetime,
) -> Outcome:
    deleted = held = 0
    if mode.detects_deletions:
        deleted, held = await _deletions(ctx, tx, started_at=started_at, now=now)
    row, policy = state.row, ctx.options.intervals
    changes: dict[str, object] = {"reconciled_at": now} if mode.detects_deletions else {}
    if mode is not RunMode.RECONCILE:
        found = changed + deleted > 0 and mode is not RunMode.BACKFILL
        scan = ctx.plan.strategy is Strategy.SCAN
        interval = next_interval(
            row.interval_seconds, changed=found, scan=scan, budget_share_left=share, policy=policy
        )
        if mode is RunMode.BACKFILL:
            interval = policy.minimum
        changes["interval_seconds"] = interval
        changes["next_due_at"] = now + timedelta(seconds=interval)
        changes["empty_polls"] = 0 if found else row.empty_polls + 1
        if changed + deleted:
            changes["last_change_at"] = now
    await SyncRuns(ctx.db).finish(run_id, status="done", now=now, tx=tx)
    return Outcome(state=state.ended(state.cursor, **changes), deleted=deleted, held=held)


async def _deletions(
    ctx: RunContext, tx: AsyncConnection, *, started_at: datetime, now: datetime
) -> tuple[int, int]:
    """(records marked deleted, deletions held back as a suspected mass deletion)."""
    stored, unseen = await Records(ctx.db).unseen_since(
        app_id=ctx.app_id, resource=ctx.resource, started_at=started_at, tx=tx
    )
    check = detect_deletions(
        stored=stored,
        seen=stored - unseen,
        complete=True,
        max_fraction=ctx.options.max_deletion_fraction,
        min_count=ctx.options.min_deletion_count,
    )
    if check.held:
        log.warning(
            "Sync of %s (app %s) would delete %d of %d records: held, nothing deleted",
            ctx.resource,
            ctx.app_id,
            len(unseen),
            len(stored),
        )
        return 0, len(unseen)
    if not check.deleted:
        return 0, 0
    report = await mark_deleted(
        ctx.db,
        app_id=ctx.app_id,
        resource=ctx.resource,
        external_ids=sorted(check.deleted),
        source=ChangeSource.RECONCILE,
        connection_id=ctx.connection_id,
        now=now,
        tx=tx,
    )
    return report.marked, 0
