"""How each DrChrono resource is synced, read from the catalog (pure).

- **since**: lists with an incremental filter (`since`, `updated_since` for messages). The
  first run (backfill) reads everything: through the async batch endpoint when the resource has
  one (pages of up to 1,000 records), otherwise list pages at the largest page size; later runs
  read `since=<bookmark day>`. A list that demands a date filter (appointments) gets
  `since=2000-01-01` for its backfill ("updated on or after", so: everything).
- **scan**: lists without one (allergies, medications, problems, doctors, offices, ...): a full
  read with a digest comparison, at a low adaptive frequency; its last page proves which stored
  ids are gone (deletions).

Resources whose deletions send no webhook are also **reconciled**: a full id pass at low
frequency finds the ids DrChrono no longer has. Lists with a `show_archived` switch are read
with it, and records flagged `deleted_flag` are recorded as deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

from chronobridge.catalog import CATALOG, Kind, Resource

__all__ = [
    "BACKFILL_SINCE",
    "FIRST",
    "MODELS",
    "ResourcePlan",
    "Strategy",
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
    batch: bool
    """An async batch (`*_list`) endpoint exists: backfills use it."""
    filters: Mapping[str, object] = field(default_factory=dict)
    """Sent on every list call (e.g. `show_archived=true`)."""
    backfill_filters: Mapping[str, object] = field(default_factory=dict)
    reconcile: bool = False
    """Deletions send no webhook: a periodic full id pass finds them."""
    patient_filter: bool = False
    """The list takes `patient=`: a changed patient's records can be refreshed alone."""


def plan_for(name: str) -> ResourcePlan:
    """The plan for one resource; KeyError for a resource that cannot be synced."""
    plans = _plans()
    if name not in plans:
        raise KeyError(name)
    return plans[name]


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
    return ResourcePlan(
        resource=resource.name,
        strategy=Strategy.SINCE if since else Strategy.SCAN,
        since_param=since,
        page_size=op.page_size_max or op.page_size_default or 250,
        batch=resource.batch is not None and since is not None,
        filters={"show_archived": "true"} if "show_archived" in params else {},
        backfill_filters={since: BACKFILL_SINCE} if since and since in required else {},
        reconcile=since is not None and not deletes,
        patient_filter=since is None and "patient" in params,
    )
