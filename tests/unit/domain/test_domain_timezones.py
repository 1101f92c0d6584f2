"""DrChrono's zone-less timestamps: the doctor's zone, UTC in, local out, and both DST edges."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from domain_records import DOCTORS, EAST, WEST

from chronobridge.domain.timezones import TimeZones, parse_local, zone
from chronobridge.errors import ConfigError

ZONES = TimeZones.from_doctors(DOCTORS)


def test_each_doctor_reads_in_their_own_zone() -> None:
    assert ZONES.to_utc("2024-06-03T09:30:00", doctor=EAST) == datetime(
        2024, 6, 3, 13, 30, tzinfo=UTC
    )
    assert ZONES.to_utc("2024-06-03T09:30:00", doctor=WEST) == datetime(
        2024, 6, 3, 16, 30, tzinfo=UTC
    )


def test_ids_match_as_text_or_number_and_unknown_doctors_use_the_practice_zone() -> None:
    assert ZONES.zone_for(str(EAST)) is ZONES.zone_for(EAST)
    # The practice's zone is its first doctor's, as DrChrono does for records without a doctor.
    assert ZONES.default.key == "US/Eastern"
    assert ZONES.zone_for(None) is ZONES.default
    assert ZONES.zone_for(999) is ZONES.default


def test_spring_forward_gap_is_read_with_the_offset_before_the_jump() -> None:
    # 2024-03-10 02:30 does not exist in US/Eastern: read as EST, i.e. 03:30 EDT.
    instant = ZONES.to_utc("2024-03-10T02:30:00", doctor=EAST)
    assert instant == datetime(2024, 3, 10, 7, 30, tzinfo=UTC)
    assert ZONES.to_drchrono(instant, doctor=EAST) == "2024-03-10T03:30:00"


def test_fall_back_repeated_hour_is_the_first_occurrence() -> None:
    # 2024-11-03 01:30 happens twice in US/Eastern; the first (EDT, UTC-4) is chosen.
    instant = ZONES.to_utc("2024-11-03T01:30:00", doctor=EAST)
    assert instant == datetime(2024, 11, 3, 5, 30, tzinfo=UTC)
    # The second pass (EST) shows the same wall clock, so writing it back is the documented loss.
    second = datetime(2024, 11, 3, 6, 30, tzinfo=UTC)
    assert ZONES.to_drchrono(second, doctor=EAST) == "2024-11-03T01:30:00"


def test_times_around_both_transitions_round_trip() -> None:
    for text in ("2024-03-10T01:59:59", "2024-03-10T03:00:00", "2024-11-03T00:59:59",
                 "2024-11-03T02:00:00"):  # fmt: skip
        assert ZONES.to_drchrono(ZONES.to_utc(text, doctor=EAST), doctor=EAST) == text


def test_an_offset_written_in_the_text_wins() -> None:
    assert parse_local("2024-06-03T09:30:00Z", zone("US/Pacific")) == datetime(
        2024, 6, 3, 9, 30, tzinfo=UTC
    )


def test_naive_instants_are_refused_and_bad_text_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ZONES.to_local(datetime(2024, 1, 1), doctor=EAST)
    with pytest.raises(ValueError, match="isoformat"):
        ZONES.to_utc("next tuesday", doctor=EAST)


def test_unknown_or_empty_zones_fall_back_and_are_listed() -> None:
    zones = TimeZones.build({1: "Mars/Olympus", 2: "", 3: "US/Central"}, default="US/Eastern")
    assert zones.unresolved == frozenset({"1", "2"})
    assert zones.zone_for(1).key == "US/Eastern"
    assert zones.zone_for(3).key == "US/Central"
    with pytest.raises(ConfigError, match="Mars"):
        TimeZones.build({}, default="Mars/Olympus")


def test_local_dates_and_midnights() -> None:
    late = datetime(2024, 6, 4, 2, 0, tzinfo=UTC)  # 22:00 on June 3rd in New York
    assert ZONES.local_date(late, doctor=EAST) == date(2024, 6, 3)
    assert ZONES.start_of_day(date(2024, 6, 3), doctor=WEST) == datetime(2024, 6, 3, 7, tzinfo=UTC)
