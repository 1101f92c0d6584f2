"""When the planner schedules a reconciliation (a full id pass that finds deletions), pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chronobridge.store import CursorRow
from chronobridge.sync import IntervalPolicy, plan_for
from chronobridge.sync._plan import pass_calls
from chronobridge.sync._planner import Due, affordable, due_of, reconcile_interval

NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
POLICY = IntervalPolicy()
DAY, WEEK = 24 * 3600, 7 * 24 * 3600

# Resources whose deletions DrChrono announces by webhook (a lost DELETE is otherwise lost).
WEBHOOK_COVERED = ("lab_orders", "line_items", "patient_payments", "tasks", "transactions")


def _row(resource: str, *, reconciled_ago: timedelta | None, **changes: object) -> CursorRow:
    row = CursorRow(
        app_id=1,
        resource=resource,
        next_due_at=NOW + timedelta(minutes=10),  # the incremental poll is not due
        reconciled_at=None if reconciled_ago is None else NOW - reconciled_ago,
    )
    return row.but(**changes)


@pytest.mark.parametrize("resource", WEBHOOK_COVERED)
def test_webhook_covered_resources_are_reconciled_weekly(resource: str) -> None:
    assert plan_for(resource).delete_webhook
    assert reconcile_interval(resource, POLICY) == WEEK
    six_days = _row(resource, reconciled_ago=timedelta(days=6))
    assert due_of(1, resource, six_days, NOW, POLICY) is None
    eight_days = _row(resource, reconciled_ago=timedelta(days=8))
    due = due_of(1, resource, eight_days, NOW, POLICY)
    assert due is not None
    assert (due.mode, due.due_at) == ("reconcile", NOW - timedelta(days=8))


def test_resources_without_delete_webhooks_are_reconciled_daily() -> None:
    assert reconcile_interval("patients", POLICY) == DAY
    assert due_of(1, "patients", _row("patients", reconciled_ago=timedelta(hours=23)), NOW,
                  POLICY) is None  # fmt: skip
    due = due_of(1, "patients", _row("patients", reconciled_ago=timedelta(hours=25)), NOW, POLICY)
    assert due is not None
    assert due.mode == "reconcile"


def test_the_intervals_are_configurable_and_zero_turns_the_safety_net_off() -> None:
    daily = IntervalPolicy(reconcile_covered_every=DAY)
    row = _row("tasks", reconciled_ago=timedelta(days=2))
    assert due_of(1, "tasks", row, NOW, daily) is not None
    off = IntervalPolicy(reconcile_covered_every=0)
    assert due_of(1, "tasks", _row("tasks", reconciled_ago=timedelta(days=300)), NOW, off) is None


def test_scans_are_never_reconciled_they_are_complete_passes() -> None:
    assert reconcile_interval("allergies", POLICY) == 0
    row = _row("allergies", reconciled_ago=timedelta(days=30))
    assert due_of(1, "allergies", row, NOW, POLICY) is None


def test_no_reconciliation_before_the_first_complete_pass_or_during_a_run() -> None:
    assert due_of(1, "tasks", _row("tasks", reconciled_ago=None), NOW, POLICY) is None
    running = _row("tasks", reconciled_ago=timedelta(days=30), state={"run_mode": "incremental"})
    assert due_of(1, "tasks", running, NOW, POLICY) is None


def test_a_due_poll_comes_before_a_reconciliation() -> None:
    row = _row("tasks", reconciled_ago=timedelta(days=30), next_due_at=NOW - timedelta(seconds=1))
    due = due_of(1, "tasks", row, NOW, POLICY)
    assert due is not None
    assert due.mode == "auto"


def _pass(resource: str) -> Due:
    return Due(app_id=1, resource=resource, mode="reconcile", due_at=NOW - timedelta(days=8))


def test_reconciliations_are_planned_only_while_the_backfill_share_pays_for_them() -> None:
    passes = [_pass("line_items"), _pass("tasks"), _pass("transactions")]
    costs = {"line_items": 11, "tasks": 40, "transactions": 6}
    share = 300  # the backfill priority's ceiling at the default 500 calls an hour
    assert affordable(passes, costs, (300, share)) == passes
    assert affordable(passes, costs, (50, share)) == [passes[0], passes[2]]  # 11 + 6; not 40
    assert affordable(passes, costs, (5, share)) == []
    assert affordable(passes, costs, (0, 0)) == []  # parked by a 429, or the share spent


def test_a_pass_larger_than_the_share_starts_when_half_of_it_is_free() -> None:
    passes = [_pass("tasks")]
    huge = {"tasks": 2_000}
    assert affordable(passes, huge, (150, 300)) == passes
    assert affordable(passes, huge, (149, 300)) == []


def test_pass_costs_follow_the_largest_page() -> None:
    assert pass_calls(plan_for("tasks"), 1_000) == 4  # list pages of 250
    assert pass_calls(plan_for("line_items"), 10_000) == 11  # submit + 10 batch pages
    assert pass_calls(plan_for("clinical_note_field_values"), 30_000) == 3  # pages of 20,000
    assert pass_calls(plan_for("line_items"), 10_000, batch=False) == 40
    assert pass_calls(plan_for("tasks"), 0) == 1
