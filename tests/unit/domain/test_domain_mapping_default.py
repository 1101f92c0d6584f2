"""The default mapping (DESIGN §4) applied to emulator-shaped records."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from domain_records import CONTEXT, DOCTORS, EAST, WEST, appointment, office, patient
from hypothesis import given, settings
from hypothesis import strategies as st

from chronobridge.catalog import CATALOG
from chronobridge.domain.mappings import MappingContext, apply, apply_all, default_mapping
from chronobridge.domain.timezones import TimeZones
from chronobridge.errors import MappingError

MAPPING = default_mapping()


def test_a_patient_maps_to_the_practice_model() -> None:
    row = apply(MAPPING, "patients", patient(), CONTEXT)
    assert row.model == "patient"
    assert row.external_id == "86800001"
    assert row.values == {
        "external_id": "86800001",
        "first_name": "Morgan",
        "middle_name": None,
        "last_name": "Fixture",
        "date_of_birth": date(1984, 7, 9),
        "gender": "F",
        "address.line1": "12 Example Avenue",
        "address.line2": None,
        "address.city": "Springfield",
        "address.state": "IL",
        "address.postal_code": "62701",
        "phone_home": "+15550100111",
        "phone_mobile": "+15550100112",
        "email": "morgan.fixture@example.test",
        "preferred_language": "English",
        "race": "White",
        "ethnicity": "Not Hispanic or Latino",
        "provider_id": str(EAST),
        "status": "active",
    }
    assert row.custom == {}


def test_rows_record_the_mapping_version_and_digest() -> None:
    row = apply(MAPPING, "patients", patient(), CONTEXT)
    assert row.mapping_version == MAPPING.version == 1
    assert row.mapping_digest == MAPPING.digest
    assert len(row.mapping_digest) == 16


def test_nested_and_json_forms() -> None:
    row = apply(MAPPING, "patients", patient(apartment="Apt 4"), CONTEXT)
    assert row.nested()["address"] == {
        "line1": "12 Example Avenue", "line2": "Apt 4", "city": "Springfield", "state": "IL",
        "postal_code": "62701",
    }  # fmt: skip
    assert row.to_json()["values"]["date_of_birth"] == "1984-07-09"


@pytest.mark.parametrize(
    ("given", "expected"),
    [("Male", "M"), ("Female", "F"), ("Other", "O"), ("UNK", "U"), ("ASKU", "U"), ("", "U"),
     (None, "U")],
)  # fmt: skip
def test_gender_codes(given: str | None, expected: str) -> None:
    assert apply(MAPPING, "patients", patient(gender=given), CONTEXT).values["gender"] == expected


@pytest.mark.parametrize(
    ("field", "given", "expected"),
    [
        ("preferred_language", "spa", "Spanish"),
        ("preferred_language", "zho", "Chinese"),
        ("preferred_language", "blank", None),
        ("preferred_language", "declined", "Declined"),
        ("race", "indian", "American Indian or Alaska Native"),
        ("race", "hawaiian", "Native Hawaiian or Other Pacific Islander"),
        ("race", "blank", None),
        ("race", None, None),
        ("ethnicity", "hispanic", "Hispanic or Latino"),
        ("ethnicity", "", None),
    ],
)
def test_code_maps(field: str, given: str | None, expected: str | None) -> None:
    row = apply(MAPPING, "patients", patient(**{field: given}), CONTEXT)
    assert row.values[field] == expected


def test_a_code_outside_the_map_is_an_error_naming_the_field_only() -> None:
    with pytest.raises(MappingError) as caught:
        apply(MAPPING, "patients", patient(race="martian-secret"), CONTEXT)
    assert caught.value.field == "race"
    assert caught.value.rule == "codes"
    assert "martian" not in str(caught.value)


def test_blank_phones_are_null_and_unparseable_phones_fail_without_the_value() -> None:
    row = apply(MAPPING, "patients", patient(home_phone="", cell_phone=None), CONTEXT)
    assert row.values["phone_home"] is None
    assert row.values["phone_mobile"] is None
    with pytest.raises(MappingError) as caught:
        apply(MAPPING, "patients", patient(cell_phone="call 010-SECRET"), CONTEXT)
    error = caught.value
    assert (error.model, error.field, error.rule) == ("patient", "phone_mobile", "e164")
    assert "SECRET" not in str(error)
    assert "010" not in str(error)
    assert str(error) == "patient.phone_mobile: not a possible phone number (rule: e164)"


def test_a_bad_birth_date_names_the_field() -> None:
    with pytest.raises(
        MappingError, match=r"date_of_birth: expected a date YYYY-MM-DD \(rule: date\)"
    ):
        apply(MAPPING, "patients", patient(date_of_birth="07/09/1984"), CONTEXT)
    assert (
        apply(MAPPING, "patients", patient(date_of_birth=""), CONTEXT).values["date_of_birth"]
        is None
    )


def test_a_record_without_its_key_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="key field id is missing"):
        apply(MAPPING, "patients", patient(id=None), CONTEXT)


def test_an_appointment_starts_in_utc_and_ends_after_its_duration() -> None:
    row = apply(MAPPING, "appointments", appointment(), CONTEXT)
    assert row.external_id == "143400001"
    values = row.values
    assert values["start_time"] == datetime(2024, 6, 3, 13, 30, tzinfo=UTC)
    assert values["end_time"] == datetime(2024, 6, 3, 14, 15, tzinfo=UTC)
    assert (values["patient_id"], values["provider_id"]) == ("86800001", str(EAST))
    assert (values["location_id"], values["exam_room"]) == ("301001", 2)
    assert (values["appointment_type"], values["status"], values["reason"]) == (
        "5001", "Confirmed", "Annual physical",
    )  # fmt: skip
    assert values["notes"] is None
    assert values["is_break"] is False


def test_appointment_times_use_the_appointments_doctor() -> None:
    west = apply(MAPPING, "appointments", appointment(doctor=WEST), CONTEXT).values
    assert west["start_time"] == datetime(2024, 6, 3, 16, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("local", "utc_start", "utc_end"),
    [
        # Spring forward: 02:30 does not exist; read as EST. 45 minutes later is 04:15 EDT.
        ("2024-03-10T02:30:00", datetime(2024, 3, 10, 7, 30, tzinfo=UTC),
         datetime(2024, 3, 10, 8, 15, tzinfo=UTC)),
        # Fall back: 01:30 happens twice; the first (EDT) is taken. End is 45 real minutes on.
        ("2024-11-03T01:30:00", datetime(2024, 11, 3, 5, 30, tzinfo=UTC),
         datetime(2024, 11, 3, 6, 15, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_appointments_across_both_dst_transitions(
    local: str, utc_start: datetime, utc_end: datetime
) -> None:
    values = apply(MAPPING, "appointments", appointment(scheduled_time=local), CONTEXT).values
    assert (values["start_time"], values["end_time"]) == (utc_start, utc_end)


def test_an_appointment_needs_its_start_and_a_readable_one() -> None:
    with pytest.raises(MappingError, match=r"start_time: a value is required \(rule: required\)"):
        apply(MAPPING, "appointments", appointment(scheduled_time=None), CONTEXT)
    with pytest.raises(MappingError, match="rule: datetime_local_to_utc"):
        apply(MAPPING, "appointments", appointment(scheduled_time="soon"), CONTEXT)
    no_duration = apply(MAPPING, "appointments", appointment(duration=None), CONTEXT)
    assert no_duration.values["end_time"] is None


def test_a_break_has_no_patient() -> None:
    row = apply(MAPPING, "appointments", appointment(patient=None, appt_is_break=True), CONTEXT)
    assert row.values["patient_id"] is None
    assert row.values["is_break"] is True


def test_providers_and_locations() -> None:
    provider = apply(MAPPING, "doctors", DOCTORS[0], CONTEXT).values
    assert provider["npi"] == "9000268001"
    assert provider["timezone"] == "US/Eastern"
    assert provider["email"] == "doctor1@example.test"
    assert apply(MAPPING, "doctors", DOCTORS[1], CONTEXT).values["suffix"] is None
    location = apply(MAPPING, "offices", office(), CONTEXT).values
    assert location["phone"] == "+15550100200"
    assert location["exam_rooms"][1]["name"] == "Exam 2"
    odd = apply(MAPPING, "offices", office(phone_number="front desk"), CONTEXT).values
    assert odd["phone"] == "front desk"  # on_invalid: keep


def test_resources_without_a_model_are_kept_raw_only() -> None:
    assert not MAPPING.maps("tasks")
    assert apply_all(MAPPING, "tasks", {"id": 1}, CONTEXT) == ()
    with pytest.raises(MappingError, match="no model maps tasks"):
        apply(MAPPING, "tasks", {"id": 1}, CONTEXT)


def synthetic(schema_name: str) -> dict[str, Any]:
    """A record with every property of a catalog schema, filled by type."""
    values = {"string": "x", "integer": 7, "number": 1.5, "boolean": False, "array": [],
              "object": {}}  # fmt: skip
    properties = CATALOG.schemas[schema_name]["properties"]
    return {name: values.get(p.get("type", "string")) for name, p in properties.items()}


def test_records_built_from_the_catalog_schemas_map_once_formats_are_right() -> None:
    record = synthetic("Patient") | patient()
    assert apply(MAPPING, "patients", record, CONTEXT).values["gender"] == "F"
    record = synthetic("Appointment") | appointment()
    assert apply(MAPPING, "appointments", record, CONTEXT).values["exam_room"] == 2
    assert apply(MAPPING, "offices", synthetic("Office") | office(), CONTEXT).values["name"]
    assert apply(MAPPING, "doctors", synthetic("Doctor") | DOCTORS[0], CONTEXT).values["npi"]


def test_a_context_without_doctors_reads_times_in_the_default_zone() -> None:
    context = MappingContext(timezones=TimeZones.build({}, default="US/Pacific"))
    values = apply(MAPPING, "appointments", appointment(), context).values
    assert values["start_time"] == datetime(2024, 6, 3, 16, 30, tzinfo=UTC)


junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=300)
@given(data=st.data(), resource=st.sampled_from(["patients", "appointments", "doctors", "offices"]))
def test_any_junk_in_any_field_maps_or_fails_with_a_mapping_error(
    data: st.DataObject, resource: str
) -> None:
    """Bad input gets a clear error: never a TypeError or a crash from deep inside."""
    base = {"patients": patient(), "appointments": appointment(), "doctors": dict(DOCTORS[0]),
            "offices": office()}[resource]  # fmt: skip
    names = data.draw(st.lists(st.sampled_from(sorted(base)), max_size=4, unique=True))
    record = base | {name: data.draw(junk) for name in names}
    failure: MappingError | None = None
    try:
        apply(MAPPING, resource, record, CONTEXT)
    except MappingError as error:
        failure = error
    assert failure is None or (failure.field and failure.rule)
