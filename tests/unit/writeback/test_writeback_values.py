"""Practice-model values between JSON and Python types, read from the mapping itself."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from chronobridge.domain.mappings import default_mapping
from chronobridge.errors import MappingError
from chronobridge.writeback import decode_values, encode_values, model_values

MAPPING = default_mapping()


def test_dates_and_times_become_python_values() -> None:
    values = model_values(
        MAPPING,
        "appointment",
        {"start_time": "2031-01-06T15:00:00-05:00", "end_time": "2031-01-06T20:30:00Z"},
    )
    assert values["start_time"] == datetime(2031, 1, 6, 20, 0, tzinfo=UTC)
    assert values["end_time"] == datetime(2031, 1, 6, 20, 30, tzinfo=UTC)
    patient = model_values(MAPPING, "patient", {"date_of_birth": "1984-07-19", "gender": "F"})
    assert patient == {"date_of_birth": date(1984, 7, 19), "gender": "F"}


def test_values_round_trip_through_json() -> None:
    east = timezone(timedelta(hours=-5))
    values = {"start_time": datetime(2031, 1, 6, 15, tzinfo=east), "exam_room": 2, "notes": None}
    text = encode_values(values)
    assert decode_values(MAPPING, "appointment", text) == values


@pytest.mark.parametrize(
    ("model", "raw", "expected"),
    [
        ("patient", {"date_of_birth": "19/07/1984"}, "patient.date_of_birth: expected a date"),
        ("appointment", {"start_time": "2031-01-06T15:00:00"}, "with its UTC offset"),
        ("appointment", {"start_time": 1234}, "appointment.start_time: expected a date and time"),
        ("patient", {"shoe_size": "44", "first_name": "Ann"}, "no field named shoe_size"),
    ],
)
def test_bad_values_name_the_field_never_the_value(
    model: str, raw: dict[str, object], expected: str
) -> None:
    with pytest.raises(MappingError) as caught:
        model_values(MAPPING, model, raw)
    assert expected in str(caught.value)
    for value in raw.values():
        assert str(value) not in str(caught.value)


def test_an_already_typed_value_passes_and_a_naive_time_does_not() -> None:
    born = date(1990, 1, 2)
    assert model_values(MAPPING, "patient", {"date_of_birth": born}) == {"date_of_birth": born}
    with pytest.raises(MappingError):
        model_values(MAPPING, "appointment", {"start_time": datetime(2031, 1, 6, 15)})
