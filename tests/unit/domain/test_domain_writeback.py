"""Write-back plans: the mapping reversed, the catalog's operations, and verdicts on answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from domain_records import CONTEXT, EAST, WEST, appointment, patient

from chronobridge.domain.mappings import apply, default_mapping, reverse
from chronobridge.domain.writeback import (
    ModelChange,
    RequestPlan,
    Verdict,
    WriteAction,
    classify,
    classify_error,
    plan,
)
from chronobridge.errors import (
    Conflict,
    MappingError,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
    ValidationFailed,
)

MAPPING = default_mapping()


def mapped(resource: str, record: dict[str, Any]) -> dict[str, Any]:
    return dict(apply(MAPPING, resource, record, CONTEXT).values)


def same(drchrono: Any, written: Any) -> bool:
    """DrChrono uses "" and null alike for an empty field; write-back sends ""."""
    return drchrono == written or (drchrono in (None, "") and written in (None, ""))


def written_back(model: str, record: dict[str, Any], resource: str) -> dict[str, Any]:
    return reverse(MAPPING, model, mapped(resource, record), CONTEXT)


@pytest.mark.parametrize(
    "record",
    [
        patient(cell_phone="(555) 010-0112"),
        patient(
            cell_phone=None,
            gender="Male",
            race="asian",
            ethnicity="hispanic",
            preferred_language="spa",
        ),
        patient(gender="Other", patient_status="D", home_phone="(555) 010-0999", cell_phone=""),
        patient(
            cell_phone="+44 20 7946 0958",
            gender="UNK",
            race="blank",
            preferred_language="blank",
            ethnicity="blank",
        ),
    ],
)
def test_patients_round_trip_through_the_practice_model(record: dict[str, Any]) -> None:
    body = written_back("patient", record, "patients")
    for field, value in body.items():
        assert same(record[field], value), field
    assert {"first_name", "gender", "home_phone", "cell_phone", "doctor", "race"} <= set(body)
    assert "id" not in body  # read-only in DrChrono's schema: the id goes in the path


@pytest.mark.parametrize(
    "record",
    [
        appointment(),
        appointment(doctor=WEST, scheduled_time="2024-12-31T23:45:00", duration=30),
        appointment(scheduled_time="2024-11-03T00:30:00", duration=120),  # across fall-back
        appointment(status="Arrived", notes="bring forms", reason="Follow-up"),
    ],
)
def test_appointments_round_trip_through_the_practice_model(record: dict[str, Any]) -> None:
    body = written_back("appointment", record, "appointments")
    for field, value in body.items():
        assert same(record[field], value), field
    assert {"scheduled_time", "duration", "doctor", "office", "exam_room", "patient"} <= set(body)
    assert "deleted_flag" not in body  # read-only


def test_phones_in_other_formats_write_back_as_the_same_number() -> None:
    body = written_back("patient", patient(cell_phone="555.010.0112"), "patients")
    assert body["cell_phone"] == "(555) 010-0112"


def test_lossy_codes_write_back_the_first_code_listed() -> None:
    assert written_back("patient", patient(gender="ASKU"), "patients")["gender"] == "UNK"
    assert written_back("patient", patient(gender=""), "patients")["gender"] == "UNK"


def test_creating_a_patient() -> None:
    values = mapped("patients", patient()) | {"first_name": "Riley", "external_id": None}
    request = plan(
        ModelChange(model="patient", action=WriteAction.CREATE, values=values),
        mapping=MAPPING, context=CONTEXT, app_id="app-1",
    )  # fmt: skip
    assert request is not None
    assert (request.operation, request.method, request.path) == (
        "patients_create", "POST", "/api/patients",
    )  # fmt: skip
    assert request.body["first_name"] == "Riley"
    assert request.body["gender"] == "Female"
    assert request.body["home_phone"] == "(555) 010-0111"
    assert request.creates
    assert "middle_name" in request.body  # "" clears it; None values are dropped on create


def test_updating_a_patient_sends_only_what_changed() -> None:
    values = mapped("patients", patient()) | {"phone_mobile": "+15550100177", "gender": "M"}
    change = ModelChange(
        model="patient", action=WriteAction.UPDATE, values=values, external_id="86800001",
        changed=frozenset({"phone_mobile", "gender"}),
    )  # fmt: skip
    request = plan(change, mapping=MAPPING, context=CONTEXT, app_id="app-1")
    assert request is not None
    assert (request.operation, request.method, request.path) == (
        "patients_partial_update", "PATCH", "/api/patients/86800001",
    )  # fmt: skip
    assert request.body == {"cell_phone": "(555) 010-0177", "gender": "Male"}
    assert not request.creates


def test_booking_an_appointment_in_the_doctors_local_time() -> None:
    start = datetime(2024, 7, 1, 20, 0, tzinfo=UTC)
    values = mapped("appointments", appointment(doctor=WEST)) | {
        "start_time": start, "end_time": start + timedelta(minutes=20), "external_id": None,
    }  # fmt: skip
    change = ModelChange(model="appointment", action=WriteAction.CREATE, values=values)
    request = plan(change, mapping=MAPPING, context=CONTEXT, app_id="app-1")
    assert request is not None
    assert request.operation == "appointments_create"
    assert request.body["scheduled_time"] == "2024-07-01T13:00:00"  # 13:00 in Los Angeles
    assert request.body["duration"] == 20
    assert request.body["doctor"] == WEST


def test_rescheduling_sends_the_new_time_and_duration_only() -> None:
    values = mapped("appointments", appointment())
    values["start_time"] += timedelta(days=1, hours=1)
    values["end_time"] = values["start_time"] + timedelta(minutes=30)
    change = ModelChange(
        model="appointment", action=WriteAction.UPDATE, values=values, external_id="143400001",
        changed=frozenset({"start_time", "end_time"}),
    )  # fmt: skip
    request = plan(change, mapping=MAPPING, context=CONTEXT, app_id="app-1")
    assert request is not None
    assert request.path == "/api/appointments/143400001"
    assert request.body == {"scheduled_time": "2024-06-04T10:30:00", "duration": 30}


def test_moving_an_appointment_to_a_doctor_in_another_zone_resends_its_local_time() -> None:
    values = mapped("appointments", appointment()) | {"provider_id": str(WEST)}
    change = ModelChange(
        model="appointment", action=WriteAction.UPDATE, values=values, external_id="143400001",
        changed=frozenset({"provider_id"}),
    )  # fmt: skip
    request = plan(change, mapping=MAPPING, context=CONTEXT, app_id="app-1")
    assert request is not None
    # 09:30 in New York is 06:30 in Los Angeles: same instant, the new doctor's wall clock.
    assert request.body == {"doctor": WEST, "scheduled_time": "2024-06-03T06:30:00"}


def test_a_change_drchrono_does_not_hold_plans_nothing() -> None:
    change = ModelChange(
        model="patient", action=WriteAction.UPDATE, values=mapped("patients", patient()),
        external_id="86800001", changed=frozenset({"external_id"}),
    )  # fmt: skip
    assert plan(change, mapping=MAPPING, context=CONTEXT, app_id="app-1") is None


def test_plans_refuse_what_drchrono_would() -> None:
    values = mapped("appointments", appointment()) | {"location_id": None}
    book = ModelChange(model="appointment", action=WriteAction.CREATE, values=values)
    with pytest.raises(MappingError, match=r"appointment.location_id: DrChrono needs it"):
        plan(book, mapping=MAPPING, context=CONTEXT, app_id="app-1")
    update = ModelChange(model="patient", action=WriteAction.UPDATE, values={"first_name": "X"})
    with pytest.raises(MappingError, match="needs the DrChrono id"):
        plan(update, mapping=MAPPING, context=CONTEXT, app_id="app-1")
    provider = ModelChange(model="provider", action=WriteAction.CREATE, values={"npi": "1"})
    with pytest.raises(MappingError, match="cannot create doctors"):
        plan(provider, mapping=MAPPING, context=CONTEXT, app_id="app-1")
    bad_time = mapped("appointments", appointment()) | {"end_time": "tomorrow"}
    with pytest.raises(MappingError, match="end_time"):
        reverse(MAPPING, "appointment", bad_time, CONTEXT)


def test_the_idempotency_key_is_stable_and_content_bound() -> None:
    values = mapped("patients", patient())

    def key(app: str, **change: Any) -> str:
        request = plan(
            ModelChange(model="patient", action=WriteAction.CREATE, values=values | change),
            mapping=MAPPING, context=CONTEXT, app_id=app,
        )  # fmt: skip
        assert request is not None
        return request.idempotency_key

    assert key("app-1") == key("app-1")
    assert key("app-1") != key("app-2")
    assert key("app-1") != key("app-1", first_name="Other")


def a_plan(*, creates: bool) -> RequestPlan:
    return RequestPlan(
        operation="x", method="POST" if creates else "PATCH", path="/api/x", path_params={},
        body={}, idempotency_key="k", creates=creates,
        field_names={"scheduled_time": "start_time"},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("status", "creates", "verdict", "report", "retriable"),
    [
        (201, True, Verdict.DONE, False, False),
        (204, False, Verdict.DONE, False, False),
        (400, True, Verdict.REJECTED, True, False),
        (409, True, Verdict.CONFLICT, True, False),
        (404, False, Verdict.GONE, True, False),
        (403, False, Verdict.DENIED, True, False),
        (401, False, Verdict.REAUTH, False, False),
        (429, True, Verdict.RETRY, False, True),
        (503, False, Verdict.RETRY, False, True),
        (503, True, Verdict.VERIFY, False, True),
        (None, True, Verdict.VERIFY, False, True),
        (None, False, Verdict.RETRY, False, True),
        (418, False, Verdict.FAILED, True, False),
    ],
)
def test_verdicts(
    status: int | None, creates: bool, verdict: Verdict, report: bool, retriable: bool
) -> None:
    outcome = classify(a_plan(creates=creates), status=status)
    assert outcome.verdict is verdict
    assert outcome.report is report
    assert outcome.retriable is retriable


def test_field_errors_are_reported_in_the_models_terms() -> None:
    outcome = classify(a_plan(creates=True), status=400, error_fields=["scheduled_time", "other"])
    assert outcome.fields == ("other", "start_time")


def test_verdicts_from_the_clients_exceptions() -> None:
    request = a_plan(creates=True)
    rejected = classify_error(request, ValidationFailed(fields={"scheduled_time": ["bad"]}))
    assert (rejected.verdict, rejected.fields) == (Verdict.REJECTED, ("start_time",))
    assert classify_error(request, Conflict()).verdict is Verdict.CONFLICT
    limited = classify_error(request, RateLimited(retry_after=120.0))
    assert (limited.verdict, limited.retry_after) == (Verdict.RETRY, 120.0)
    assert classify_error(request, ServerError(status=502)).verdict is Verdict.VERIFY
    assert classify_error(a_plan(creates=False), TransportError()).verdict is Verdict.RETRY
    assert classify_error(request, NotFound()).verdict is Verdict.GONE
    assert classify_error(request, MappingError()).verdict is Verdict.FAILED


def test_the_patient_in_a_plan_is_the_patient_in_the_record() -> None:
    values = mapped("appointments", appointment(doctor=EAST))
    assert reverse(MAPPING, "appointment", values, CONTEXT)["patient"] == 86800001
