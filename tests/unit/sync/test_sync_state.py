"""Choosing the mode of a run, and the cursor row's state JSON."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chronobridge.domain.cursors import Cursor, start
from chronobridge.domain.timezones import TimeZones
from chronobridge.store import CursorRow
from chronobridge.sync import RunMode, plan_for
from chronobridge.sync._start import choose_mode
from chronobridge.sync._state import SyncState

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _state(*, bookmark: datetime | None = None, running: RunMode | None = None) -> SyncState:
    state = SyncState.load(None, app_id=1, resource="patients", interval=120)
    cursor = Cursor(resource="patients", bookmark=bookmark)
    if running is not None:
        cursor = start(cursor, now=NOW, timezones=TimeZones())
        return state.started(7, running, cursor)
    return SyncState(row=state.row, cursor=cursor)


def test_first_a_backfill_then_incremental_polls() -> None:
    plan = plan_for("patients")
    assert choose_mode(_state(), plan, "auto") is RunMode.BACKFILL
    assert choose_mode(_state(bookmark=NOW), plan, "auto") is RunMode.INCREMENTAL
    assert choose_mode(_state(bookmark=NOW), plan, "full") is RunMode.BACKFILL
    assert choose_mode(_state(bookmark=NOW), plan, "reconcile") is RunMode.RECONCILE


def test_a_run_in_progress_is_resumed_whatever_was_asked() -> None:
    plan = plan_for("patients")
    running = _state(bookmark=NOW, running=RunMode.INCREMENTAL)
    assert choose_mode(running, plan, "auto") is RunMode.INCREMENTAL
    assert choose_mode(running, plan, "reconcile") is RunMode.INCREMENTAL
    assert choose_mode(running, plan, "full") is RunMode.BACKFILL


def test_lists_without_since_are_always_scanned() -> None:
    assert choose_mode(_state(), plan_for("allergies"), "reconcile") is RunMode.SCAN
    with pytest.raises(ValueError, match="unknown sync mode"):
        choose_mode(_state(), plan_for("allergies"), "sideways")


def test_the_state_survives_the_cursors_table() -> None:
    running = _state(bookmark=NOW, running=RunMode.BACKFILL)
    row = running.but_cursor(running.cursor, resume="/api/patients?cursor=abc").to_row()
    loaded = SyncState.load(row, app_id=1, resource="patients", interval=120)
    assert (loaded.run_id, loaded.run_mode, loaded.cursor) == (7, RunMode.BACKFILL, running.cursor)
    assert loaded.row.resume == "/api/patients?cursor=abc"
    ended = loaded.ended(loaded.cursor, interval_seconds=60)
    assert not ended.in_progress
    assert ended.to_row().state["run_mode"] is None


def test_a_row_made_by_the_planner_has_no_cursor_yet() -> None:
    row = CursorRow(app_id=1, resource="patients", next_due_at=NOW)
    loaded = SyncState.load(row, app_id=1, resource="patients", interval=120)
    assert loaded.cursor == Cursor(resource="patients")
    assert not loaded.in_progress
