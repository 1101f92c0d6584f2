"""The budget policy (chronobridge.domain.budget): reserves per priority and the hourly window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from chronobridge.domain.budget import (
    Priority,
    allows,
    ceiling,
    window_end,
    window_start,
    windows_between,
)


def test_ceilings_keep_the_last_tenth_for_interactive_and_a_quarter_for_webhooks() -> None:
    assert ceiling(Priority.INTERACTIVE, 500) == 500
    assert ceiling(Priority.WEBHOOK, 500) == 450
    assert ceiling(Priority.POLL, 500) == 375
    assert ceiling(Priority.BACKFILL, 500) == 300


@pytest.mark.parametrize("limit", [1, 7, 10, 99, 500, 5000])
def test_higher_priorities_never_get_less_room(limit: int) -> None:
    order = [Priority.INTERACTIVE, Priority.WEBHOOK, Priority.POLL, Priority.BACKFILL]
    ceilings = [ceiling(p, limit) for p in order]
    assert ceilings == sorted(ceilings, reverse=True)
    assert ceilings[0] == limit
    assert all(0 <= c <= limit for c in ceilings)


def test_a_tiny_limit_is_all_interactive() -> None:
    assert ceiling(Priority.INTERACTIVE, 1) == 1
    assert ceiling(Priority.WEBHOOK, 1) == 0
    assert ceiling(Priority.BACKFILL, 0) == 0


def test_allows_counts_the_cost_of_the_call() -> None:
    assert allows(Priority.POLL, used=374, limit=500)
    assert not allows(Priority.POLL, used=375, limit=500)
    assert allows(Priority.INTERACTIVE, used=499, limit=500)
    assert not allows(Priority.INTERACTIVE, used=499, limit=500, cost=2)
    assert not allows(Priority.INTERACTIVE, used=500, limit=500)


def test_the_window_opens_at_the_top_of_the_utc_hour() -> None:
    eastern = timezone(timedelta(hours=-5))
    now = datetime(2026, 3, 1, 9, 59, 59, 999_999, tzinfo=eastern)
    assert window_start(now) == datetime(2026, 3, 1, 14, tzinfo=UTC)
    assert window_end(now) == datetime(2026, 3, 1, 15, tzinfo=UTC)
    assert window_start(datetime(2026, 3, 1, 15, tzinfo=UTC)) == window_end(now)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        window_start(datetime(2026, 3, 1, 9))


def test_windows_between_covers_a_park_across_the_hour() -> None:
    start = datetime(2026, 3, 1, 10, 50, tzinfo=UTC)
    hours = windows_between(start, start + timedelta(minutes=75))
    assert hours == [
        datetime(2026, 3, 1, 10, tzinfo=UTC),
        datetime(2026, 3, 1, 11, tzinfo=UTC),
        datetime(2026, 3, 1, 12, tzinfo=UTC),
    ]
    assert windows_between(start, start - timedelta(hours=1)) == []
    assert len(windows_between(start, start + timedelta(days=30), most=5)) == 5
