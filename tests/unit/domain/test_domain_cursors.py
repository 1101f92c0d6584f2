"""Cursor maths: inclusive day-granular `since`, boundary de-dup, signpost, version order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chronobridge.domain.cursors import (
    Cursor,
    CursorPolicy,
    advance,
    detect_deletions,
    finish,
    is_new_version,
    since_window,
    start,
)
from chronobridge.domain.records import RecordVersion
from chronobridge.domain.timezones import TimeZones

EASTERN = TimeZones.build({}, default="US/Eastern")
POLICY = CursorPolicy(lag=timedelta(minutes=5), overlap=timedelta(minutes=5))
T0 = datetime(2024, 3, 1, 15, 0, tzinfo=UTC)  # 10:00 in New York


def v(record_id: str, at: datetime | None, digest: str = "") -> RecordVersion:
    return RecordVersion(resource="patients", record_id=record_id, updated_at=at, digest=digest)


def run_once(
    cursor: Cursor, page: list[RecordVersion], *, now: datetime
) -> tuple[Cursor, list[str]]:
    cursor = start(cursor, now=now, timezones=EASTERN, policy=POLICY)
    step = advance(cursor, page, next_page=None, timezones=EASTERN, policy=POLICY)
    return finish(step.cursor, timezones=EASTERN, policy=POLICY), [x.record_id for x in step.fresh]


def test_the_first_run_reads_everything_and_bookmarks_the_highest_update() -> None:
    cursor = start(Cursor(resource="patients"), now=T0, timezones=EASTERN, policy=POLICY)
    assert cursor.since_param() is None
    done, fresh = run_once(Cursor(resource="patients"), [v("1", T0 - timedelta(hours=2))], now=T0)
    assert fresh == ["1"]
    assert done.bookmark == T0 - timedelta(hours=2)
    assert done.run is None


def test_since_is_the_local_day_of_the_bookmark_minus_the_overlap() -> None:
    # 00:03 in New York: the overlap reaches back into the previous day.
    just_after_midnight = datetime(2024, 3, 2, 5, 3, tzinfo=UTC)
    cursor = Cursor(resource="patients", bookmark=just_after_midnight)
    running = start(cursor, now=T0 + timedelta(days=1), timezones=EASTERN, policy=POLICY)
    assert running.since_param() == "2024-03-01"
    # 02:00 UTC is still the previous evening in New York.
    cursor = Cursor(resource="patients", bookmark=datetime(2024, 3, 3, 2, 0, tzinfo=UTC))
    running = start(cursor, now=T0 + timedelta(days=2), timezones=EASTERN, policy=POLICY)
    assert running.since_param() == "2024-03-02"


def test_the_inclusive_reread_of_the_boundary_day_yields_no_duplicates() -> None:
    a, b = v("1", T0 - timedelta(hours=3)), v("2", T0 - timedelta(hours=1))
    cursor, fresh = run_once(Cursor(resource="patients"), [a, b], now=T0)
    assert fresh == ["1", "2"]
    changed = v("2", T0 + timedelta(hours=1))
    cursor, fresh = run_once(cursor, [a, changed], now=T0 + timedelta(hours=2))
    assert fresh == ["2"]  # `a` is a repeat; `2` changed, so it is a new version
    cursor, fresh = run_once(cursor, [a, changed], now=T0 + timedelta(hours=3))
    assert fresh == []


def test_the_bookmark_never_passes_the_signpost() -> None:
    during_the_run = T0 + timedelta(seconds=30)  # updated while the sync was running
    cursor, _ = run_once(Cursor(resource="patients"), [v("1", during_the_run)], now=T0)
    assert cursor.bookmark == T0 - POLICY.lag


def test_the_bookmark_never_moves_backwards() -> None:
    cursor = Cursor(resource="patients", bookmark=T0)
    cursor, _ = run_once(cursor, [v("9", T0 - timedelta(days=1))], now=T0 + timedelta(hours=1))
    assert cursor.bookmark == T0
    cursor, _ = run_once(cursor, [], now=T0 + timedelta(hours=2))
    assert cursor.bookmark == T0


def test_a_run_in_progress_is_resumed_with_its_since_and_signpost() -> None:
    cursor = Cursor(resource="patients", bookmark=T0 - timedelta(days=3))
    first = start(cursor, now=T0, timezones=EASTERN, policy=POLICY)
    step = advance(first, [v("1", T0 - timedelta(hours=1))], next_page="p2", timezones=EASTERN,
                   policy=POLICY)  # fmt: skip
    resumed = start(step.cursor, now=T0 + timedelta(hours=5), timezones=EASTERN, policy=POLICY)
    assert resumed.run == step.cursor.run
    assert resumed.run is not None
    assert resumed.run.next_page == "p2"
    assert resumed.since_param() == first.since_param()


def test_advance_and_finish_need_a_run() -> None:
    with pytest.raises(ValueError, match="start"):
        advance(Cursor(resource="patients"), [], next_page=None, timezones=EASTERN)
    with pytest.raises(ValueError, match="start"):
        finish(Cursor(resource="patients"), timezones=EASTERN)


def test_the_cursor_survives_json() -> None:
    cursor = start(Cursor(resource="patients", bookmark=T0), now=T0 + timedelta(hours=1),
                   timezones=EASTERN, policy=POLICY)  # fmt: skip
    step = advance(cursor, [v("1", T0 + timedelta(minutes=1))], next_page="n", timezones=EASTERN)
    assert Cursor.from_json(step.cursor.to_json()) == step.cursor
    done = finish(step.cursor, timezones=EASTERN)
    assert Cursor.from_json(done.to_json()) == done


def test_the_boundary_keeps_only_what_the_next_since_day_returns() -> None:
    old, recent = v("1", T0 - timedelta(days=5)), v("2", T0 - timedelta(minutes=30))
    cursor, _ = run_once(Cursor(resource="patients"), [old, recent], now=T0)
    assert set(cursor.boundary) == {recent.token}


def test_since_window_takes_the_earliest_local_day_among_the_practice_zones() -> None:
    zones = TimeZones.build({1: "US/Pacific"}, default="US/Eastern")
    instant = datetime(2024, 3, 2, 6, 0, tzinfo=UTC)  # 01:00 New York, 22:00 (Mar 1) LA
    day, floor = since_window(instant, zones)
    assert day == date(2024, 3, 1)
    assert floor == datetime(2024, 3, 1, 5, 0, tzinfo=UTC)  # midnight in New York comes first


@pytest.mark.parametrize(
    ("stored", "incoming", "digests", "expected"),
    [
        (None, T0, (None, None), True),
        (T0, T0 + timedelta(seconds=1), (None, None), True),
        (T0, T0 - timedelta(seconds=1), (None, None), False),
        (T0, T0, (None, None), False),
        (T0, T0, ("a", "a"), False),
        (T0, T0, ("a", "b"), True),  # same second, other content, fetched just now
        (T0, None, ("a", "b"), True),
        (T0, None, ("a", "a"), False),
    ],
)
def test_is_new_version(
    stored: datetime | None,
    incoming: datetime | None,
    digests: tuple[str | None, str | None],
    expected: bool,
) -> None:
    got = is_new_version(stored, incoming, stored_digest=digests[0], incoming_digest=digests[1])
    assert got is expected


@settings(max_examples=500)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=4), st.booleans()), min_size=1, max_size=30
    )
)
def test_arrival_order_never_decides_the_final_state(arrivals: list[tuple[int, bool]]) -> None:
    """WH-7: five versions of one object in any order, with duplicates: the newest wins."""
    stamps = [T0 + timedelta(seconds=index) for index in range(5)]
    stored: datetime | None = None
    for index, _duplicate in arrivals:
        if is_new_version(stored, stamps[index]):
            stored = stamps[index]
    assert stored == stamps[max(index for index, _ in arrivals)]


def test_deletions_from_a_complete_pass() -> None:
    check = detect_deletions(stored=["1", "2", "3", "4"], seen=["1", "2", "4", "5"], complete=True)
    assert check.deleted == frozenset({"3"})
    assert not check.held


def test_an_incomplete_pass_deletes_nothing_and_mass_deletion_is_held() -> None:
    assert detect_deletions(stored=["1"], seen=[], complete=False).deleted == frozenset()
    stored = [str(i) for i in range(30)]
    held = detect_deletions(stored=stored, seen=stored[:5], complete=True)
    assert held.held
    assert held.deleted == frozenset()
    forced = detect_deletions(stored=stored, seen=stored[:5], complete=True, max_fraction=1.0)
    assert len(forced.deleted) == 25
    # A handful of deletions in a small table is not held.
    assert detect_deletions(stored=["1", "2", "3"], seen=["1"], complete=True).deleted == {"2", "3"}
