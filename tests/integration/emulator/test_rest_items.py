"""Items: create, read, update, delete; DRF-style validation; the gates and their answers."""

from __future__ import annotations

from typing import Any

import pytest

from chronobridge.emulator._cleaners import DATETIME
from chronobridge.emulator._seed import MAIN_PRACTICE, OTHER_PRACTICE
from support.rest_api import api, check, first_id, json_schema, make_state

NEW_PATIENT = {"gender": "Female", "doctor": 268001, "first_name": "Nova", "last_name": "Testwood"}


def appointment(**changes: Any) -> dict[str, Any]:
    body = {
        "doctor": 268001,
        "patient": 86800001,
        "office": 301001,
        "exam_room": 1,
        "scheduled_time": "2099-05-06T09:00:00",
    }
    return {**body, **changes}


async def test_create_read_update_patch_delete_a_patient() -> None:
    state = make_state()
    async with api(state) as client:
        created = await client.post("/api/patients", json=NEW_PATIENT)
        assert created.status_code == 201
        body = created.json()
        check(body, json_schema("Patient"))
        url = f"/api/patients/{body['id']}"
        put = await client.put(url, json={**NEW_PATIENT, "first_name": "Nora"})
        patch = await client.patch(url, json={"email": "nora@example.test"})
        read = (await client.get(url)).json()
        deleted = await client.delete(url)
        after = await client.get(url)
        again = await client.delete(url)
    assert body["chart_id"].startswith("TEST")
    assert put.status_code == patch.status_code == deleted.status_code == 204
    assert put.content == patch.content == deleted.content == b""
    assert (read["first_name"], read["email"]) == ("Nora", "nora@example.test")
    assert read["created_at"] <= read["updated_at"]
    assert after.status_code == again.status_code == 404
    assert after.json() == {"detail": "Not found."}


async def test_put_needs_the_required_fields_and_patch_does_not() -> None:
    state = make_state()
    patient = first_id(state, "patients", practice=MAIN_PRACTICE)
    async with api(state) as client:
        put = await client.put(f"/api/patients/{patient}", json={"first_name": "Only"})
        patch = await client.patch(f"/api/patients/{patient}", json={"first_name": "Only"})
    assert put.status_code == 400
    assert put.json() == {
        "gender": ["This field is required."],
        "doctor": ["This field is required."],
    }
    assert patch.status_code == 204


P = NEW_PATIENT
NO_DOCTOR = 'Invalid pk "{}" - object does not exist.'
MUST_BOOL = "Must be a valid boolean."
BAD_DATE = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"gender": ["This field is required."], "doctor": ["This field is required."]}),
        ({**P, "doctor": "x"}, {"doctor": ["A valid integer is required."]}),
        ({**P, "doctor": 999}, {"doctor": [NO_DOCTOR.format(999)]}),
        ({**P, "doctor": 268004}, {"doctor": [NO_DOCTOR.format(268004)]}),  # other practice
        ({**P, "gender": "Robot"}, {"gender": ['"Robot" is not a valid choice.']}),
        ({**P, "disable_sms_messages": "perhaps"}, {"disable_sms_messages": [MUST_BOOL]}),
        ({**P, "first_name": {"a": 1}}, {"first_name": ["Not a valid string."]}),
        ({**P, "date_of_birth": "12/01/1990"}, {"date_of_birth": [BAD_DATE]}),
        ({**P, "gender": None}, {"gender": ["This field may not be null."]}),
    ],
)
async def test_validation_answers_drf_messages(
    body: dict[str, Any], errors: dict[str, Any]
) -> None:
    state = make_state()
    async with api(state) as client:
        response = await client.post("/api/patients", json=body)
    assert response.status_code == 400
    assert response.json() == errors


async def test_read_only_and_unknown_fields_are_ignored() -> None:
    state = make_state()
    body = {**NEW_PATIENT, "id": 1, "created_at": "x", "favourite_colour": "teal"}
    async with api(state) as client:
        created = (await client.post("/api/patients", json=body)).json()
    assert created["id"] != 1
    assert "favourite_colour" not in created
    assert created["created_at"] != "x"


@pytest.mark.parametrize(
    ("content", "headers", "status", "answer"),
    [
        ("[1, 2", {"content-type": "application/json"}, 400, "JSON parse error - "),
        ('"text"', {"content-type": "application/json"}, 400, "Expected a dictionary, but got str"),
        ("42", {"content-type": "application/json"}, 400, "Expected a dictionary, but got int"),
        ('{"gender": NaN}', {"content-type": "application/json"}, 400, "JSON parse error - "),
        ("x", {"content-type": "text/plain"}, 415, 'Unsupported media type "text/plain"'),
    ],
)
async def test_unreadable_bodies(
    content: str, headers: dict[str, str], status: int, answer: str
) -> None:
    state = make_state()
    async with api(state) as client:
        response = await client.post("/api/patients", content=content, headers=headers)
    assert response.status_code == status
    assert answer in str(response.json())


async def test_a_json_array_creates_several_and_reports_errors_per_item() -> None:
    state = make_state()
    async with api(state) as client:
        good = await client.post(
            "/api/patients", json=[NEW_PATIENT, {**NEW_PATIENT, "gender": "Male"}]
        )
        bad = await client.post("/api/patients", json=[NEW_PATIENT, {"gender": "Male"}])
        update = await client.patch(f"/api/patients/{good.json()[0]['id']}", json=[NEW_PATIENT])
    assert good.status_code == 201
    assert [p["gender"] for p in good.json()] == ["Female", "Male"]
    assert bad.status_code == 400
    assert bad.json() == [{}, {"doctor": ["This field is required."]}]
    assert update.status_code == 400
    assert update.json() == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]
    }


async def test_form_and_multipart_bodies_are_accepted() -> None:
    state = make_state()
    form = {"gender": "Other", "doctor": "268002", "disable_sms_messages": "true"}
    async with api(state) as client:
        urlencoded = await client.post("/api/patients", data=form)
        upload = await client.post(
            "/api/documents",
            data={
                "doctor": "268001",
                "patient": "86800001",
                "description": "Scan",
                "date": "2024-02-03",
            },
            files={"document": ("scan.pdf", b"%PDF-1.4 synthetic", "application/pdf")},
        )
    assert urlencoded.status_code == 201
    assert urlencoded.json()["doctor"] == 268002
    assert urlencoded.json()["disable_sms_messages"] is True
    assert upload.status_code == 201, upload.text
    assert upload.json()["document"].endswith("/scan.pdf")
    stored = state.records.get("documents", upload.json()["id"])
    assert stored is not None
    assert stored["_files"] == {"document": {"name": "scan.pdf", "size": 18}}
    assert "_files" not in upload.json()


async def test_appointments_refuse_overlaps_unless_allowed() -> None:
    state = make_state()
    async with api(state) as client:
        first = await client.post("/api/appointments", json=appointment())
        clash = await client.post(
            "/api/appointments", json=appointment(scheduled_time="2099-05-06T09:15:00")
        )
        other_room = await client.post("/api/appointments", json=appointment(exam_room=2))
        allowed = await client.post(
            "/api/appointments", params={"allow_overlapping": "true"}, json=appointment()
        )
        in_body = await client.post("/api/appointments", json=appointment(allow_overlapping=True))
        after = await client.post(
            "/api/appointments", json=appointment(scheduled_time="2099-05-06T09:30:00")
        )
        moved = await client.patch(
            f"/api/appointments/{after.json()['id']}",
            json={"scheduled_time": "2099-05-06T09:10:00"},
        )
        cancelled = await client.patch(
            f"/api/appointments/{first.json()['id']}", json={"status": "Cancelled"}
        )
        retry = await client.post("/api/appointments", json=appointment(exam_room=3))
    assert first.status_code == 201
    assert isinstance(first.json()["id"], str)
    assert first.json()["duration"] == 30
    assert clash.status_code == 409
    assert clash.json() == {"detail": "Scheduled time overlaps with an existing appointment"}
    assert other_room.status_code == allowed.status_code == in_body.status_code == 201
    assert after.status_code == 201
    assert moved.status_code == 409
    assert cancelled.status_code == 204
    assert retry.status_code == 201


async def test_appointment_rules_breaks_profiles_and_time_zones() -> None:
    state = make_state()
    profile = first_id(state, "appointment_profiles")
    state.records.update("appointment_profiles", profile, {"duration": 45})
    async with api(state) as client:
        missing = await client.post("/api/appointments", json=appointment(patient=None))
        a_break = await client.post(
            "/api/appointments", json=appointment(patient=None, appt_is_break=True, exam_room=2)
        )
        profiled = await client.post(
            "/api/appointments", json=appointment(profile=profile, exam_room=3)
        )
        zoned = await client.post(
            "/api/appointments",
            json=appointment(scheduled_time="2099-07-01T14:00:00Z", office=301002),
        )
        bad_time = await client.post("/api/appointments", json=appointment(scheduled_time="soon"))
    assert missing.status_code == 400
    assert missing.json() == {"patient": ["This field may not be null."]}
    assert a_break.status_code == 201
    assert profiled.json()["duration"] == 45
    assert zoned.json()["scheduled_time"] == "2099-07-01T10:00:00"  # doctor1 is US/Eastern
    assert bad_time.json() == {"scheduled_time": [DATETIME]}


async def test_appointment_ids_of_the_wrong_shape_are_not_found() -> None:
    state = make_state()
    async with api(state) as client:
        for raw in ("abc", "12.5", "-1", "99999999999999999999999", "١٢٣"):
            response = await client.get(f"/api/appointments/{raw}")
            assert response.status_code == 404, raw
            assert response.json() == {"detail": "Not found."}


async def test_unknown_paths_and_methods() -> None:
    state = make_state()
    async with api(state) as client:
        unknown = await client.get("/api/not_a_resource")
        root = await client.get("/api/")
        put = await client.put("/api/patients")
        delete = await client.delete("/api/allergies/1/")
        slash = await client.get("/api/patients/")
    assert unknown.status_code == root.status_code == 404
    assert unknown.json() == {"detail": "Not found."}
    assert put.status_code == 405
    assert put.json() == {"detail": 'Method "PUT" not allowed.'}
    assert put.headers["allow"] == "GET, POST"
    assert delete.status_code == 405
    assert set(delete.headers["allow"].split(", ")) == {"GET", "PUT", "PATCH"}
    assert slash.status_code == 200


async def test_missing_or_bad_token_answers_drchronos_401() -> None:
    state = make_state()
    async with api(state) as client:
        response = await client.get("/api/patients", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.text == "Authorization failed."
    assert "invalid_token" in response.headers["www-authenticate"]


async def test_scope_and_in_app_permission_gates() -> None:
    state = make_state()
    denied = {"detail": "You do not have permission to perform this action."}
    async with api(state, scopes=["patients:read"]) as reader:
        read = await reader.get("/api/patients")
        write = await reader.post("/api/patients", json=NEW_PATIENT)
        other = await reader.get("/api/line_items")
    async with api(state, username="staff2") as front_desk:
        billing = await front_desk.get("/api/line_items")
        sheets = await front_desk.get(
            "/api/day_sheet_totals", params={"start_date": "1/1/2024", "end_date": "1/2/2024"}
        )
        patients = await front_desk.get("/api/patients")
    assert read.status_code == 200
    assert (
        write.status_code == other.status_code == billing.status_code == sheets.status_code == 403
    )
    assert write.json() == other.json() == billing.json() == denied
    assert patients.status_code == 200


async def test_a_principal_sees_only_its_practice() -> None:
    state = make_state()
    outsider_patient = first_id(state, "patients", practice=OTHER_PRACTICE)
    main_patient = first_id(state, "patients", practice=MAIN_PRACTICE)
    async with api(state) as doctor1:
        hidden = await doctor1.get(f"/api/patients/{outsider_patient}")
        doctors = (await doctor1.get("/api/doctors")).json()["results"]
    async with api(state, username="outsider1") as outsider:
        own = (await outsider.get("/api/patients")).json()["results"]
        foreign = await outsider.get(f"/api/patients/{main_patient}")
        users = (await outsider.get("/api/users")).json()["results"]
    assert hidden.status_code == foreign.status_code == 404
    assert {d["id"] for d in doctors} == {268001, 268002, 268003}
    assert {p["doctor"] for p in own} == {268004}
    assert [u["username"] for u in users] == ["outsider1"]


async def test_timestamps_render_in_the_doctors_time_zone() -> None:
    state = make_state()
    async with api(state) as client:
        east = (await client.post("/api/patients", json=NEW_PATIENT)).json()
        west = (await client.post("/api/patients", json={**NEW_PATIENT, "doctor": 268002})).json()
    meta = state.records.meta("patients", east["id"])
    assert meta is not None
    assert len(east["created_at"]) == 19
    assert "+" not in east["created_at"]
    assert east["created_at"] != west["created_at"]  # US/Eastern vs US/Pacific, same instant


async def test_the_hourly_window_applies_to_rest_calls() -> None:
    state = make_state(rate_limit=3)
    async with api(state) as client:
        answers = [(await client.get("/api/doctors")).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
