"""How each DrChrono resource is synced, read from the catalog (pure).

- **since**: lists with an incremental filter (`since`, `updated_since` for messages). The
  first run (backfill) reads everything: through the async batch endpoint when the resource has
  one, otherwise list pages; later runs read `since=<bookmark day>`. A list that demands a date
  filter (appointments) gets `since=2000-01-01` for its backfill ("updated on or after", so:
  everything).
- **scan**: lists without one (allergies, medications, problems, doctors, offices, ...): a full
  read with a digest comparison, at a low adaptive frequency; its last page proves which stored
  ids are gone (deletions). A scan of a list with a batch endpoint (eligibility checks) reads
  the batch too.

Every read uses the largest page the catalog allows for the operation it calls: the list's
`page_size_max` (250), the batch submit's (1,000; 20,000 for clinical note field values).

Every `since` resource is also **reconciled**: a full id pass at low frequency finds the ids
DrChrono no longer has, daily where deletions send no webhook, weekly where they do (a DELETE
webhook lost after DrChrono's 3 retries is found all the same). Lists with a `show_archived`
switch are read with it, and records flagged `deleted_flag` are recorded as deleted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

from chronobridge.catalog import CATALOG, Kind, Operation, Resource

__all__ = [
    "BACKFILL_SINCE",
    "FIRST",
    "MODELS",
    "ResourcePlan",
    "Strategy",
    "pass_calls",
    "plan_for",
    "syncable",
]

BACKFILL_SINCE = "2000-01-01"
"""`since` of a backfill on lists that require a date filter: every record is newer."""

FIRST = ("doctors", "offices", "users")
"""Synced before everything else: the doctors' time zones are needed to read every timestamp."""

MODELS = ("patients", "appointments")
"""Then the resources of the practice model people look at first."""


class Strategy(StrEnum):
    SINCE = "since"
    SCAN = "scan"


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourcePlan:
    resource: str
    strategy: Strategy
    since_param: str | None
    page_size: int
    """The largest page of the list."""
    batch: bool
    """An async batch (`*_list`) endpoint exists: complete passes (backfill, scan,
    reconcile) use it."""
    batch_page_size: int | None = None
    """The largest page of the batch endpoint (None without one)."""
    filters: Mapping[str, object] = field(default_factory=dict)
    """Sent on every list call (e.g. `show_archived=true`)."""
    backfill_filters: Mapping[str, object] = field(default_factory=dict)
    reconcile: bool = False
    """A periodic full id pass finds deletions (every `since` resource: its incremental polls
    cannot see them; a scan is a complete pass already)."""
    delete_webhook: bool = False
    """DrChrono sends a delete webhook: reconciliation is only the safety net (less often)."""
    patient_filter: bool = False
    """The list takes `patient=`: a changed patient's records can be refreshed alone."""


def plan_for(name: str) -> ResourcePlan:
    """The plan for one resource; KeyError for a resource that cannot be synced."""
    plans = _plans()
    if name not in plans:
        raise KeyError(name)
    return plans[name]


def pass_calls(plan: ResourcePlan, records: int, *, batch: bool = True) -> int:
    """The calls one complete pass over `records` records costs: the batch's submit plus its
    pages (the status poll that finds it done returns page 1), else list pages."""
    if batch and plan.batch_page_size:
        return 1 + max(1, math.ceil(records / plan.batch_page_size))
    return max(1, math.ceil(records / plan.page_size))


def syncable() -> tuple[str, ...]:
    """Every resource the engine can sync, in sync order: FIRST, MODELS, the rest by name."""
    names = sorted(_plans())
    lead = tuple(n for n in (*FIRST, *MODELS) if n in names)
    return lead + tuple(n for n in names if n not in lead)


@cache
def _plans() -> dict[str, ResourcePlan]:
    plans = (_plan(resource) for resource in CATALOG.resources.values())
    return {plan.resource: plan for plan in plans if plan is not None}


def _plan(resource: Resource) -> ResourcePlan | None:
    op = resource.op(Kind.LIST)
    if op is None or any(p.required for p in op.query_params):
        return None  # no list, or one that needs a value only a person can choose
    since = op.since_param
    required = set(op.required_one_of)
    if required and since not in required:
        return None
    params = {p.name for p in op.query_params}
    deletes = any(e.change == "deleted" for e in resource.events)
    filters: dict[str, object] = {"show_archived": "true"} if "show_archived" in params else {}
    backfill = {since: BACKFILL_SINCE} if since and since in required else {}
    submit = _batch_submit(resource, {*filters, *backfill})
    return ResourcePlan(
        resource=resource.name,
        strategy=Strategy.SINCE if since else Strategy.SCAN,
        since_param=since,
        page_size=_largest_page(op),
        batch=submit is not None,
        batch_page_size=None if submit is None else _largest_page(submit),
        filters=filters,
        backfill_filters=backfill,
        reconcile=since is not None,
        delete_webhook=deletes,
        patient_filter=since is None and "patient" in params,
    )


def _batch_submit(resource: Resource, sent: set[str]) -> Operation | None:
    """The batch endpoint's submit operation, if it exists and takes the filters we send."""
    batch = CATALOG.resources.get(resource.batch) if resource.batch else None
    submit = batch.op(Kind.BATCH_SUBMIT) if batch is not None else None
    if submit is None or batch is None or batch.op(Kind.BATCH_FETCH) is None:
        return None
    return submit if sent <= {p.name for p in submit.query_params} else None


def _largest_page(op: Operation) -> int:
    return op.page_size_max or op.page_size_default or 250
