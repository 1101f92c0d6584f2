"""The 429 wait: DrChrono's text first, then Retry-After, then the top of the hour (DP-12)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chronobridge.domain.retry_after import (
    MAX_WAIT,
    MIN_WAIT,
    retry_after_seconds,
    seconds_to_next_hour,
)

NOW = datetime(2026, 3, 2, 10, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("detail", "header", "expected"),
    [
        ("Request was throttled. Expected available in 2295.0 seconds.", None, 2295.0),
        ("Request was throttled. Expected available in 12 seconds.", "99", 12.0),
        ("Request was throttled. Expected available in 1 second.", None, 1.0),
        (None, "120", 120.0),
        ("something else", "  45 ", 45.0),
        (None, "Mon, 02 Mar 2026 10:25:30 GMT", 600.0),
        (None, "Mon, 02 Mar 2026 10:25:30 -0000", 600.0),
        (None, None, 44 * 60 + 30.0),  # the top of the next hour
        (None, "soon", 44 * 60 + 30.0),
        ({"detail": "not text"}, None, 44 * 60 + 30.0),
        ("Expected available in -5 seconds.", None, MIN_WAIT),
        ("Expected available in 0.2 seconds.", None, MIN_WAIT),
        ("Expected available in 86400 seconds.", None, MAX_WAIT),
        (None, "-30", MIN_WAIT),
        (None, "Mon, 02 Mar 2026 09:00:00 GMT", MIN_WAIT),  # a date in the past
        (None, "Fri, 31 Dec 9999 23:59:59 GMT", MAX_WAIT),
        (None, "1e999", MAX_WAIT),
    ],
)
def test_wait_sources_in_order_and_clamped(
    detail: object, header: str | None, expected: float
) -> None:
    assert retry_after_seconds(detail=detail, header=header, now=NOW) == expected


def test_top_of_the_hour_from_any_minute() -> None:
    assert seconds_to_next_hour(datetime(2026, 1, 1, 23, 59, 59, tzinfo=UTC)) == 1.0
    assert seconds_to_next_hour(datetime(2026, 1, 1, 0, 0, tzinfo=UTC)) == 3600.0


def _drchrono_text(seconds: float) -> str:
    return f"Request was throttled. Expected available in {seconds} seconds."


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_drchrono_text_any_number_is_parsed_and_clamped(seconds: float) -> None:
    wait = retry_after_seconds(detail=_drchrono_text(seconds), header=None, now=NOW)
    assert wait == min(MAX_WAIT, max(MIN_WAIT, seconds))


@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_delta_seconds_header_is_clamped(seconds: int) -> None:
    wait = retry_after_seconds(detail=None, header=str(seconds), now=NOW)
    assert wait == min(MAX_WAIT, max(MIN_WAIT, float(seconds)))


@given(st.integers(min_value=-(10**6), max_value=10**6))
def test_http_date_header_is_a_delta_from_now(offset: int) -> None:
    header = format_datetime(NOW + timedelta(seconds=offset), usegmt=True)
    wait = retry_after_seconds(detail=None, header=header, now=NOW)
    assert wait == min(MAX_WAIT, max(MIN_WAIT, float(offset)))


@given(
    detail=st.one_of(st.none(), st.text(max_size=300), st.integers(), st.binary()),
    header=st.one_of(st.none(), st.text(max_size=300)),
    now=st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(9998, 1, 1), timezones=st.just(UTC)
    ),
)
def test_garbage_never_raises_and_stays_in_bounds(
    detail: object, header: str | None, now: datetime
) -> None:
    wait = retry_after_seconds(detail=detail, header=header, now=now)
    assert MIN_WAIT <= wait <= MAX_WAIT
