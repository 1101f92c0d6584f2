"""Targeted refresh: when patients change, re-read their allergies, medications and problems.

Those lists have no `since`, so a change there is otherwise found only by the next full scan
(every few hours: ceil(N / 250) calls each). A patients poll that saw changes therefore reads
`/api/<resource>?patient=<id>` for up to `refresh_limit` of the changed patients, one call per
patient and resource, and only while at least `refresh_min_share` of the poll budget is left.
Deletions within those lists are left to the full scan (a per-patient list cannot prove them
without per-patient bookkeeping).
"""

from __future__ import annotations

from collections.abc import Sequence

from chronobridge.domain.events import ChangeSource
from chronobridge.errors import ApiError, BudgetExhausted, TransportError
from chronobridge.sync._context import RunContext
from chronobridge.sync._ingest import ingest
from chronobridge.sync._plan import plan_for

__all__ = ["refresh_patients"]


async def refresh_patients(ctx: RunContext, patient_ids: Sequence[str]) -> int:
    """How many records were written (created or updated)."""
    options = ctx.options
    targets = [r for r in options.refresh_resources if _refreshable(r)]
    chosen = list(dict.fromkeys(patient_ids))[: options.refresh_limit]
    if not targets or not chosen or await ctx.budget_share() < options.refresh_min_share:
        return 0
    written = 0
    try:
        for patient in chosen:
            for resource in targets:
                written += await _refresh(ctx, resource, patient)
    except (BudgetExhausted, ApiError, TransportError):
        pass  # the next full scan of the resource catches up
    return written


async def _refresh(ctx: RunContext, resource: str, patient: str) -> int:
    plan = plan_for(resource)
    found = ctx.client.resource(resource).list(page_size=plan.page_size, patient=patient)
    records = [record async for record in found]
    report = await ingest(
        ctx.db,
        app_id=ctx.app_id,
        resource=resource,
        records=records,
        source=ChangeSource.POLL,
        connection_id=ctx.connection_id,
        timezones=ctx.timezones,
        mapping=ctx.mapping,
        hooks=ctx.hooks,
        now=ctx.now(),
    )
    return report.created + report.updated


def _refreshable(resource: str) -> bool:
    try:
        return plan_for(resource).patient_filter
    except KeyError:
        return False
