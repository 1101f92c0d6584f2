"""What is due: the planner's view of every (app, resource) cursor.

A resource is due when it was never synced, or when its adaptive `next_due_at` has passed (a
paused or failed run comes back this way too). Every `since` resource is also due for a
**reconciliation** (a full id pass: the only way a poll finds deletions) when its last complete
pass is older than the policy's `reconcile_every` (deletions send no webhook) or
`reconcile_covered_every` (they do, but a webhook DrChrono gave up on is lost for good).

Reconciliations are the least urgent work there is, so they are budget-aware at the backfill
priority: one is planned only while the backfill share of the hour can pay for it (its
estimated calls, or half the share for a pass larger than that, which then runs over several
hours), and never while DrChrono has parked the app. Only apps with an active connection are
planned: a connection that needs reconnecting stops its syncs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chronobridge.domain.budget import Priority, ceiling
from chronobridge.store import (
    Budget,
    Connections,
    ConnectionStatus,
    CursorRow,
    Cursors,
    Database,
    Records,
)
from chronobridge.sync._intervals import IntervalPolicy
from chronobridge.sync._plan import FIRST, MODELS, pass_calls, plan_for

__all__ = ["NEVER", "Due", "affordable", "due_of", "plan_due", "reconcile_interval"]

NEVER = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Due:
    app_id: int
    resource: str
    mode: str
    """auto (backfill, incremental, scan or the run in progress) or reconcile."""
    due_at: datetime

    @property
    def key(self) -> str:
        """Stable for one due moment: the job id of the sync it starts (no patient data)."""
        return f"{self.app_id}:{self.resource}:{self.mode}:{int(self.due_at.timestamp())}"


async def plan_due(
    db: Database,
    *,
    now: datetime,
    resources: Sequence[str],
    policy: IntervalPolicy,
    app_ids: Sequence[int] | None = None,
) -> list[Due]:
    apps = list(app_ids) if app_ids is not None else await _active_apps(db)
    found: list[Due] = []
    for app_id in apps:
        found.extend(await _due_for_app(db, app_id, now=now, resources=resources, policy=policy))
    return sorted(found, key=_order)


async def _due_for_app(
    db: Database, app_id: int, *, now: datetime, resources: Sequence[str], policy: IntervalPolicy
) -> list[Due]:
    rows = {row.resource: row for row in await Cursors(db).list(app_id=app_id)}
    due = [d for r in resources if (d := due_of(app_id, r, rows.get(r), now, policy))]
    passes = sorted((d for d in due if d.mode == "reconcile"), key=_order)
    if not passes:
        return due
    costs = {d.resource: await _pass_cost(db, app_id, d.resource) for d in passes}
    allowed = affordable(passes, costs, await _backfill_room(db, app_id, now))
    return [d for d in due if d.mode != "reconcile" or d in allowed]


def due_of(
    app_id: int, resource: str, row: CursorRow | None, now: datetime, policy: IntervalPolicy
) -> Due | None:
    """Whether one (app, resource) is due now, and for what (pure)."""
    if row is None:
        return Due(app_id=app_id, resource=resource, mode="auto", due_at=NEVER)
    if row.next_due_at is None or row.next_due_at <= now:
        return Due(app_id=app_id, resource=resource, mode="auto", due_at=row.next_due_at or NEVER)
    every = reconcile_interval(resource, policy)
    if not every or row.state.get("run_mode"):
        return None
    last = row.reconciled_at  # set by every complete pass (the backfill first): None: not yet
    if last is not None and last + timedelta(seconds=every) <= now:
        return Due(app_id=app_id, resource=resource, mode="reconcile", due_at=last)
    return None


def reconcile_interval(resource: str, policy: IntervalPolicy) -> int:
    """Seconds between reconciliations of `resource` (0: none, e.g. scans: complete anyway)."""
    plan = plan_for(resource)
    return policy.reconcile_seconds(delete_webhook=plan.delete_webhook) if plan.reconcile else 0


def affordable(passes: Sequence[Due], costs: Mapping[str, int], room: tuple[int, int]) -> list[Due]:
    """The reconciliations, in order, that the backfill share left (`room`: calls left, the
    share's size) pays for. A pass larger than half the share needs half of it free: it runs
    over several hours, pausing whenever the share is spent."""
    left, share = room
    chosen: list[Due] = []
    for due in passes:
        needed = max(1, min(costs.get(due.resource, 1), share // 2))
        if needed <= left:
            chosen.append(due)
            left -= needed
    return chosen


async def _pass_cost(db: Database, app_id: int, resource: str) -> int:
    stored = await Records(db).count(app_id=app_id, resource=resource)
    return pass_calls(plan_for(resource), stored)


async def _backfill_room(db: Database, app_id: int, now: datetime) -> tuple[int, int]:
    usage = await Budget(db).usage(app_id, now=now)
    if usage.parked_until is not None:
        return 0, 0  # a 429 parked the app: nothing at all until DrChrono's time
    return usage.available(Priority.BACKFILL), ceiling(Priority.BACKFILL, usage.limit)


def _order(due: Due) -> tuple[int, int, datetime, str]:
    lead = (*FIRST, *MODELS)
    first = lead.index(due.resource) if due.resource in lead else len(lead)
    return (first, 1 if due.mode == "reconcile" else 0, due.due_at, due.resource)


async def _active_apps(db: Database) -> list[int]:
    listed = await Connections(db).list()
    return sorted({c.app_id for c in listed if c.status is ConnectionStatus.ACTIVE})
