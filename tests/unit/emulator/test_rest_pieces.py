"""The pure pieces of the emulator's REST side: cursors, ids, validation, date parameters."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chronobridge.emulator._filters import FilterError, parse_moment, parse_range
from chronobridge.emulator._http import parse_int, truthy
from chronobridge.emulator._listing import Cursor
from chronobridge.emulator._validate import validate, value_format

EASTERN = ZoneInfo("US/Eastern")


@given(st.booleans(), st.integers(min_value=0, max_value=10**17))
def test_cursors_round_trip(forward: bool, pivot: int) -> None:
    cursor = Cursor(forward=forward, pivot=pivot)
    assert Cursor.decode(cursor.encode()) == cursor


@given(st.booleans(), st.integers(min_value=0, max_value=10**17), st.text(max_size=64))
def test_cursors_of_time_ordered_lists_round_trip(forward: bool, pivot: int, time: str) -> None:
    cursor = Cursor(forward=forward, pivot=pivot, time=time)
    assert Cursor.decode(cursor.encode()) == cursor
    assert cursor.key == (time, pivot)


@given(st.text(max_size=40))
def test_any_text_is_a_cursor_or_none(text: str) -> None:
    decoded = Cursor.decode(text)
    assert decoded is None or decoded.pivot >= 0


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("12", 12),
        (" 7 ", 7),
        ("-3", -3),
        ("١٢", None),
        ("1e3", None),
        ("9" * 19, None),
        (None, None),
    ],
)
def test_parse_int_takes_short_ascii_integers_only(text: str | None, number: int | None) -> None:
    assert parse_int(text) == number


def test_truthy_follows_drf() -> None:
    assert [truthy(v) for v in ("true", "True", "1", "yes", 1, True)] == [True] * 6
    assert [truthy(v) for v in ("false", "0", "", None, 2, "maybe")] == [False] * 6


def run(body: dict[str, Any], *, partial: bool = False, known: set[int] | None = None) -> Any:
    return validate(
        body,
        "Appointment",
        partial=partial,
        zone=EASTERN,
        exists=lambda _resource, record_id: record_id in (known or {1, 2, 3}),
    )


def test_validation_coerces_like_drf() -> None:
    outcome = run(
        {
            "doctor": "1",
            "patient": 2.0,
            "office": 3,
            "exam_room": "2",
            "scheduled_time": "2026-03-26T17:00:00Z",
            "notes": 12,
            "is_walk_in": "yes",
            "id": "ignored",
            "unknown": "ignored",
        }
    )
    assert outcome.errors == {}
    assert outcome.values == {
        "doctor": 1,
        "patient": 2,
        "office": 3,
        "exam_room": 2,
        "scheduled_time": "2026-03-26T13:00:00",  # 17:00 UTC is 13:00 in New York (EDT)
        "notes": "12",
        "is_walk_in": True,
    }


def test_validation_reports_every_field() -> None:
    outcome = run({"doctor": 9, "exam_room": True, "status": "Dancing", "duration": 1.5})
    assert outcome.errors == {
        "office": ["This field is required."],
        "patient": ["This field is required."],
        "scheduled_time": ["This field is required."],
        "doctor": ['Invalid pk "9" - object does not exist.'],
        "exam_room": ["A valid integer is required."],
        "status": ['"Dancing" is not a valid choice.'],
        "duration": ["A valid integer is required."],
    }


def test_partial_validation_needs_nothing() -> None:
    assert run({}, partial=True).errors == {}
    assert run({"icd10_codes": ["A01", 5, {"x": 1}]}, partial=True).errors == {
        "icd10_codes": {"2": ["Not a valid string."]}
    }


@pytest.mark.parametrize(
    ("name", "prop", "kind"),
    [
        ("date_of_birth", {"type": "string"}, "date"),
        ("posted_date", {"type": "string"}, "date"),
        ("start_time", {"type": "string", "format": "date-time"}, "datetime"),
        ("scheduled_time", {"type": "string"}, "datetime"),
        ("start_time", {"type": "string"}, ""),
        ("signature_file", {"type": "string", "format": "binary"}, "binary"),
    ],
)
def test_value_formats(name: str, prop: dict[str, str], kind: str) -> None:
    assert value_format(name, prop) == kind


def test_date_parameters() -> None:
    assert parse_range("date_range", "2024-01-01/2024-01-31") == (
        date(2024, 1, 1),
        date(2024, 1, 31),
    )
    assert parse_moment("since", "2024-02-03") == date(2024, 2, 3)
    assert parse_moment("since", "2024-02-03T04:05:06").hour == 4  # type: ignore[union-attr]
    for bad in ("2024-01-01", "2024-01-05/2024-01-01", "x/y"):
        with pytest.raises(FilterError):
            parse_range("date_range", bad)
    with pytest.raises(FilterError):
        parse_range("date_range", "2024-01-01/2024-12-31", max_days=190)
