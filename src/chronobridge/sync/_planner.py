"""What is due: the planner's view of every (app, resource) cursor.

A resource is due when it was never synced, when its adaptive `next_due_at` has passed (a
paused or failed run comes back this way too), or, for resources whose deletions send no
webhook, when its last reconciliation is older than the policy's `reconcile_every`. Only apps
with an active connection are planned: a connection that needs reconnecting stops its syncs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chronobridge.store import Connections, ConnectionStatus, CursorRow, Cursors, Database
from chronobridge.sync._intervals import IntervalPolicy
from chronobridge.sync._plan import FIRST, MODELS, plan_for

__all__ = ["NEVER", "Due", "plan_due"]

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
        rows = {row.resource: row for row in await Cursors(db).list(app_id=app_id)}
        for resource in resources:
            due = _due(app_id, resource, rows.get(resource), now, policy)
            if due is not None:
                found.append(due)
    return sorted(found, key=_order)


def _due(
    app_id: int, resource: str, row: CursorRow | None, now: datetime, policy: IntervalPolicy
) -> Due | None:
    if row is None:
        return Due(app_id=app_id, resource=resource, mode="auto", due_at=NEVER)
    if row.next_due_at is None or row.next_due_at <= now:
        return Due(app_id=app_id, resource=resource, mode="auto", due_at=row.next_due_at or NEVER)
    if not plan_for(resource).reconcile or row.state.get("run_mode"):
        return None
    last = row.reconciled_at  # set by the backfill (a complete pass): None means not yet
    if last is not None and last + timedelta(seconds=policy.reconcile_every) <= now:
        return Due(app_id=app_id, resource=resource, mode="reconcile", due_at=last)
    return None


def _order(due: Due) -> tuple[int, int, datetime, str]:
    lead = (*FIRST, *MODELS)
    first = lead.index(due.resource) if due.resource in lead else len(lead)
    return (first, 1 if due.mode == "reconcile" else 0, due.due_at, due.resource)


async def _active_apps(db: Database) -> list[int]:
    listed = await Connections(db).list()
    return sorted({c.app_id for c in listed if c.status is ConnectionStatus.ACTIVE})
