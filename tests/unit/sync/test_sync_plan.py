"""Which resources sync how, read from the catalog."""

from __future__ import annotations

import pytest

from chronobridge.sync import FIRST, Strategy, plan_for, syncable

CHANGE_FEEDS = (
    "patients",
    "patients_summary",
    "patient_messages",
    "patient_payments",
    "appointments",
    "appointments_list",
    "lab_orders",
    "lab_documents",
    "documents",
    "fee_schedules",
    "line_items",
    "transactions",
    "prescription_messages",
    "comm_logs",
    "messages",
    "tasks",
    "task_templates",
    "task_categories",
    "task_statuses",
    "task_notes",
    "inventory_vaccines",
    "inventory_categories",
    "audit_log",
)


def test_every_change_feed_is_polled_incrementally() -> None:
    assert len(CHANGE_FEEDS) == 23
    for name in CHANGE_FEEDS:
        assert plan_for(name).strategy is Strategy.SINCE, name
    assert plan_for("messages").since_param == "updated_since"


@pytest.mark.parametrize("name", ["allergies", "medications", "problems", "doctors", "offices"])
def test_lists_without_since_are_scanned(name: str) -> None:
    plan = plan_for(name)
    assert plan.strategy is Strategy.SCAN
    assert plan.since_param is None


def test_allergies_medications_and_problems_can_be_refreshed_per_patient() -> None:
    assert all(plan_for(n).patient_filter for n in ("allergies", "medications", "problems"))


def test_batch_backfills_where_drchrono_has_a_batch_list() -> None:
    batched = {n for n in syncable() if plan_for(n).batch}
    assert {"patients", "line_items", "transactions", "prescription_messages"} <= batched
    assert "appointments" not in batched


def test_appointments_backfill_with_an_old_since_and_read_archived_ones() -> None:
    plan = plan_for("appointments")
    assert plan.backfill_filters == {"since": "2000-01-01"}
    assert plan.filters == {"show_archived": "true"}
    assert plan.delete_webhook  # APPOINTMENT_DELETE


def test_every_since_resource_is_reconciled_webhook_covered_ones_included() -> None:
    assert plan_for("patients").reconcile  # no PATIENT_DELETE event exists
    assert not plan_for("patients").delete_webhook
    assert plan_for("tasks").reconcile  # TASK_DELETE may be lost after 3 retries
    assert plan_for("tasks").delete_webhook
    assert not plan_for("allergies").reconcile  # a scan is a complete pass already


def test_doctors_come_first_then_the_practice_model() -> None:
    order = syncable()
    assert order[: len(FIRST) + 2] == (*FIRST, "patients", "appointments")
    assert "insurances" not in order  # its list needs payer_type, which only a person can pick


def test_an_unknown_resource_has_no_plan() -> None:
    with pytest.raises(KeyError):
        plan_for("patients_list")
