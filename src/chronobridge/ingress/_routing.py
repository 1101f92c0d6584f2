"""Where each of DrChrono's 27 webhook events leads (pure): which record to fetch again, and
whether the event claims it was deleted.

A webhook is a hint (DESIGN §3): the body may be stale by the time the job runs, arrive out of
order, or be a redelivery, so the job fetches the current object by id and lets the sync
engine's version guard decide. Special cases, where DrChrono itself is special:

- `CLINICAL_NOTE_LOCK` / `_UNLOCK`: the clinical note (the API has no lock flag; the event's
  kind says which it was);
- `PATIENT_FLAG_CREATE` / `_CMODIFY` (alias `_MODIFY`): the patient, verbose, because
  `patient_flags_attached` is one of the fields only `verbose=true` returns;
- `TASK_MODIFY` (also fired for task notes and items): the task;
- `*_DELETE`, `LINE_ITEM_TRANSACTION_DELETE` (a line item's transaction) and
  `CASH_PAYMENT_DELETE` (a patient payment): action `delete`, a claim the job confirms with a
  fetch too (a 404 or a record flagged deleted marks it deleted; a live record is ingested and
  nothing is deleted, see `_apply`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from chronobridge.catalog import CATALOG
from chronobridge.domain.events import ChangeKind

__all__ = ["Action", "Route", "route"]

VERBOSE_EVENTS = frozenset({"PATIENT_FLAG_CREATE", "PATIENT_FLAG_CMODIFY"})


class Action(StrEnum):
    FETCH = "fetch"
    """A change: fetch the object and ingest it."""
    DELETE = "delete"
    """A deletion claimed: fetch the object to confirm it before marking it deleted."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    event: str
    """The catalog's name (an alias such as PATIENT_FLAG_MODIFY resolves to its event)."""
    resource: str
    action: Action
    kind: ChangeKind
    params: Mapping[str, str] = field(default_factory=dict)


def route(event_name: str) -> Route | None:
    """The route of a known event; None for PING and for names the catalog does not know."""
    spec = CATALOG.event(event_name)
    if spec is None or spec.change == "ping":
        return None
    kind = ChangeKind(spec.change)
    if kind is ChangeKind.DELETED:
        return Route(event=spec.name, resource=spec.resource, action=Action.DELETE, kind=kind)
    params = {"verbose": "true"} if spec.name in VERBOSE_EVENTS else {}
    return Route(
        event=spec.name, resource=spec.resource, action=Action.FETCH, kind=kind, params=params
    )
