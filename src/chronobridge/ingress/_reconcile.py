"""Reconciliation: what webhooks missed, found by polling (DESIGN §3: webhooks are hints).

DrChrono retries a failed delivery three times (+1 h, +3 h, +7 h) and then never again, so
after an outage longer than that, and for deletions that send no event at all (patients,
allergies, problems, medications, clinical notes, vaccine records), only a poll can bring the
store back in line. A pass runs the sync engine on every resource that has webhook events:

- `deletions=True` (the default, what `chronobridge webhooks reconcile` does after an outage):
  a full pass over each resource (`mode="reconcile"`; a resource without `since` is always read
  whole), which also proves which stored ids are gone;
- `deletions=False`: the incremental poll from each resource's bookmark (cheap; the sync
  planner runs these on its own schedule).

Every record goes through `sync.ingest`, so a change the webhooks already brought makes no
second change event; the events the pass inserted are therefore exactly the changes that
arrived *only* through reconciliation, and the report counts them per resource. The pass tags
its events with the source `reconcile`, and the count takes exactly those of its own run: the
run holds the (app, resource) sync lock, so no other run of that resource (the planner's
polls, which tag theirs `poll`) writes events between its start and its end, and webhooks and
write-backs tag theirs with their own sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from chronobridge.catalog import CATALOG
from chronobridge.domain.events import ChangeSource
from chronobridge.errors import InvalidRequest
from chronobridge.ingress._metrics import RECONCILED
from chronobridge.store import Database
from chronobridge.store.tables import change_events, sync_runs
from chronobridge.sync import RunStatus, SyncEngine, SyncReport, plan_for, syncable

__all__ = ["ReconcileResult", "reconcile", "webhook_resources"]


@dataclass(frozen=True, kw_only=True)
class ReconcileResult:
    resource: str
    report: SyncReport
    only_here: int
    """Change events this pass inserted: changes no webhook had brought."""
    deleted: int

    @property
    def status(self) -> RunStatus:
        return self.report.status


def webhook_resources() -> tuple[str, ...]:
    """The resources DrChrono sends webhook events for, in the engine's sync order."""
    covered = {event.resource for event in CATALOG.events}
    return tuple(name for name in syncable() if name in covered)


async def reconcile(
    engine: SyncEngine,
    app_id: int,
    resources: Sequence[str] | None = None,
    *,
    deletions: bool = True,
) -> list[ReconcileResult]:
    """One pass over `resources` (default: every webhook-covered one); see the module doc."""
    chosen = _chosen(resources)
    results = []
    for resource in chosen:
        before = await _last_event(engine.db, app_id)
        mode = "reconcile" if deletions and plan_for(resource).since_param else "auto"
        report = await engine.run(app_id, resource, mode=mode, source=ChangeSource.RECONCILE)
        only_here = await _events_of_run(engine.db, app_id, resource, report, after=before)
        RECONCILED.labels(resource).inc(only_here)
        results.append(
            ReconcileResult(
                resource=resource, report=report, only_here=only_here, deleted=report.deleted
            )
        )
    return results


def _chosen(resources: Sequence[str] | None) -> tuple[str, ...]:
    covered = webhook_resources()
    if not resources:
        return covered
    unknown = sorted(set(resources) - set(covered))
    if unknown:
        raise InvalidRequest(
            f"No webhook events cover {', '.join(unknown)}",
            hint=f"Reconcile one of: {', '.join(covered)} (or chronobridge sync for others).",
        )
    return tuple(name for name in covered if name in resources)


async def _last_event(db: Database, app_id: int) -> int:
    query = sa.select(sa.func.max(change_events.c.id)).where(change_events.c.app_id == app_id)
    async with db.read() as conn:
        return int((await conn.execute(query)).scalar() or 0)


async def _events_of_run(
    db: Database, app_id: int, resource: str, report: SyncReport, *, after: int
) -> int:
    """The `reconcile` events of `resource` inserted since event `after` by this run: from
    its start on (a planner's deletion pass, which tags its deletions `reconcile` too, may
    have ended between `after` and this run taking the lock)."""
    if report.run_id is None:  # busy, or stopped before it began: it inserted nothing
        return 0
    c, runs = change_events.c, sync_runs.c
    started = sa.select(runs.started_at).where(runs.id == report.run_id).scalar_subquery()
    query = sa.select(sa.func.count()).where(
        c.app_id == app_id,
        c.resource == resource,
        c.id > after,
        c.source == ChangeSource.RECONCILE.value,
        c.detected_at >= started,
    )
    async with db.read() as conn:
        return int((await conn.execute(query)).scalar_one())
