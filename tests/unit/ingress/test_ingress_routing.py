"""Every one of DrChrono's 27 events is routed: what to fetch again, or what to mark deleted."""

from __future__ import annotations

import pytest

from chronobridge.catalog import CATALOG
from chronobridge.domain.events import ChangeKind
from chronobridge.ingress import Action, route


def test_every_catalog_event_has_a_route() -> None:
    assert len(CATALOG.events) == 27
    for event in CATALOG.events:
        found = route(event.name)
        assert found is not None, event.name
        assert found.resource == event.resource
        deleting = event.change == "deleted"
        assert (found.action is Action.DELETE) == deleting, event.name


@pytest.mark.parametrize(
    ("event", "resource", "action", "kind", "params"),
    [
        ("CLINICAL_NOTE_LOCK", "clinical_notes", Action.FETCH, ChangeKind.LOCKED, {}),
        ("CLINICAL_NOTE_UNLOCK", "clinical_notes", Action.FETCH, ChangeKind.UNLOCKED, {}),
        ("PATIENT_FLAG_CREATE", "patients", Action.FETCH, ChangeKind.UPDATED, {"verbose": "true"}),
        ("PATIENT_FLAG_MODIFY", "patients", Action.FETCH, ChangeKind.UPDATED, {"verbose": "true"}),
        ("TASK_MODIFY", "tasks", Action.FETCH, ChangeKind.UPDATED, {}),
        ("LINE_ITEM_TRANSACTION_DELETE", "transactions", Action.DELETE, ChangeKind.DELETED, {}),
        ("CASH_PAYMENT_DELETE", "patient_payments", Action.DELETE, ChangeKind.DELETED, {}),
        ("VACCINE_ADMINISTERED", "patient_vaccine_records", Action.FETCH, ChangeKind.CREATED, {}),
        ("APPOINTMENT_DELETE", "appointments", Action.DELETE, ChangeKind.DELETED, {}),
    ],
)
def test_special_routes(
    event: str, resource: str, action: Action, kind: ChangeKind, params: dict[str, str]
) -> None:
    found = route(event)
    assert found is not None
    assert (found.resource, found.action, found.kind, dict(found.params)) == (
        resource, action, kind, params,
    )  # fmt: skip


@pytest.mark.parametrize("name", ["PING", "NOT_AN_EVENT", ""])
def test_ping_and_unknown_names_have_no_route(name: str) -> None:
    assert route(name) is None
