"""DrChrono's special endpoints: sub-actions, the current user, iframes, reports, documents."""

from __future__ import annotations

from typing import Any

import pytest

from chronobridge.emulator._actions import MAX_EXAM_ROOMS
from chronobridge.emulator._records import Change
from chronobridge.emulator._seed import MAIN_PRACTICE
from support.rest_api import api, check, first_id, json_schema, make_state

OFFICE = 301001


async def test_users_current_redirects_to_the_tokens_user() -> None:
    state = make_state()
    async with api(state, username="staff1") as client:
        redirect = await client.get("/api/users/current")
        user = await client.get(redirect.headers["location"])
    staff1 = state.user_by_name("staff1")
    assert staff1 is not None
    assert redirect.status_code == 302
    assert redirect.headers["location"] == f"http://emulator/api/users/{staff1.id}"
    assert user.json() == staff1.wire()
    check(user.json(), json_schema("UserProfile"))


async def test_add_exam_room_until_the_office_is_full() -> None:
    state = make_state()
    answers = []
    async with api(state) as client:
        for _ in range(MAX_EXAM_ROOMS - 2):
            answers.append(await client.post(f"/api/offices/{OFFICE}/add_exam_room", json={}))
        office = (await client.get(f"/api/offices/{OFFICE}")).json()
    assert [a.status_code for a in answers] == [201] * (MAX_EXAM_ROOMS - 3) + [400]
    assert answers[-1].json() == ["Office already has the maximum number of exam rooms"]
    assert len(office["exam_rooms"]) == MAX_EXAM_ROOMS
    assert office["exam_rooms"][-1] == {"index": 10, "name": "Exam 10", "online_scheduling": True}


async def test_append_to_pharmacy_note_fires_a_change() -> None:
    state = make_state()
    changes: list[Change] = []
    state.records.subscribe(changes.append)
    medication = first_id(state, "medications")
    url = f"/api/medications/{medication}/append_to_pharmacy_note"
    async with api(state) as client:
        first = await client.patch(url, json={"text": "Take with food."})
        second = await client.patch(url, json={"text": "Refill in May."})
        missing = await client.patch(url, json={})
    note = state.records.get("medications", medication)["pharmacy_note"]  # type: ignore[index]
    assert first.status_code == second.status_code == 204
    assert note.endswith("Take with food.\n\nRefill in May.")
    assert missing.json() == {"text": ["This field is required."]}
    assert [c.resource for c in changes] == ["medications", "medications"]


async def test_consent_forms_apply_and_unapply_need_an_appointment() -> None:
    state = make_state()
    form = first_id(state, "consent_forms")
    appointment = first_id(state, "appointments")
    base = f"/api/consent_forms/{form}"
    async with api(state) as client:
        apply = await client.post(f"{base}/apply_to_appointment", json={"appointment": appointment})
        unapply = await client.post(
            f"{base}/unapply_from_appointment", params={"appointment": appointment}
        )
        missing = await client.post(f"{base}/apply_to_appointment", json={})
        unknown = await client.post(f"{base}/apply_to_appointment", json={"appointment": 1})
        absent = await client.post("/api/consent_forms/1/apply_to_appointment", json={})
    assert apply.status_code == unapply.status_code == 204
    assert missing.json() == {"appointment": ["This field is required."]}
    assert unknown.json() == {"appointment": ['Invalid pk "1" - object does not exist.']}
    assert absent.status_code == 404


async def test_onpatient_access_invite_lifecycle() -> None:
    state = make_state()
    patient = first_id(state, "patients", practice=MAIN_PRACTICE)
    url = f"/api/patients/{patient}/onpatient_access"
    async with api(state) as client:
        before = (await client.get(url)).json()["onpatient_access"]
        sent = await client.post(url, json={"email": "invitee@example.test"})
        during = (await client.get(url)).json()["onpatient_access"]
        revoked = await client.delete(url)
        after = (await client.get(url)).json()["onpatient_access"]
    assert before["status"] == after["status"] == "not_invited"
    assert sent.status_code == 201
    assert during["status"] == "invited"
    assert during["email"] == "invitee@example.test"
    assert revoked.status_code == 204


async def test_yellow_notepad_reads_writes_and_refuses_locked_notes() -> None:
    state = make_state()
    template = first_id(state, "clinical_note_templates")
    locked = next(n for n, _m in state.records.scan("clinical_notes") if n["locked"])
    open_note = next(n for n, _m in state.records.scan("clinical_notes") if not n["locked"])

    def params(note: dict[str, Any]) -> dict[str, Any]:
        return {"appointment_id": note["appointment"], "template_id": template}

    async with api(state) as client:
        written = await client.post(
            "/api/yellow_notepad", params=params(open_note), json={"content": "a\r\nb"}
        )
        read = await client.get("/api/yellow_notepad", params=params(open_note))
        refused = await client.post(
            "/api/yellow_notepad", params=params(locked), json={"content": "x"}
        )
        missing = await client.get("/api/yellow_notepad", params={"appointment_id": 1})
        wrong = await client.get(
            "/api/yellow_notepad", params={"appointment_id": "x", "template_id": 1}
        )
        empty = await client.post("/api/yellow_notepad", params=params(open_note), json={})
    assert written.status_code == 201
    assert read.json()["content"] == "a\nb"
    check(read.json(), json_schema("YellowNotepad"))
    assert refused.status_code == 409
    assert refused.json() == {"detail": "Cannot modify a locked clinical note."}
    assert missing.json() == ["both appointment_id and template_id must be specified"]
    assert wrong.json() == ["appointment_id must be an integer"]
    assert empty.json() == {"content": ["This field is required."]}


async def test_locking_a_clinical_note_is_a_record_update() -> None:
    state = make_state()
    note = next(n for n, _m in state.records.scan("clinical_notes") if not n["locked"])
    state.records.update("clinical_notes", note["id"], {"locked": True})
    async with api(state) as client:
        body = (await client.get(f"/api/clinical_notes/{note['id']}")).json()
    assert body["locked"] is True


async def test_iframe_integration_is_for_doctors() -> None:
    state = make_state()
    doctor = state.user_by_name("doctor2")
    assert doctor is not None
    async with api(state, username="doctor2") as client:
        registered = await client.post("/api/iframe_integration")
        assert (state.config.client_id, doctor.doctor) in state.iframes
        removed = await client.delete("/api/iframe_integration/")
    async with api(state, username="staff1") as staff:
        refused = await staff.post("/api/iframe_integration")
    assert registered.status_code == removed.status_code == 204
    assert registered.content == b""
    assert (state.config.client_id, doctor.doctor) not in state.iframes
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"start_date": "1/1/2020", "end_date": "12/31/2030"}, 200),
        ({"start_date": "2020-01-01", "end_date": "12/31/2030"}, 400),
        ({"end_date": "12/31/2030"}, 400),
        ({"start_date": "2/1/2024", "end_date": "1/1/2024"}, 400),
        ({"start_date": "13/45/2024", "end_date": "1/1/2025"}, 400),
    ],
)
async def test_day_sheets_need_us_dates(params: dict[str, str], status: int) -> None:
    state = make_state()
    async with api(state) as client:
        for path in ("charges", "credits", "patient_payments", "totals"):
            response = await client.get(f"/api/day_sheet_{path}", params=params)
            assert response.status_code == status, (path, response.text)


async def test_availability_leaves_out_booked_slots() -> None:
    state = make_state()
    booked = next(r for r, _m in state.records.scan("appointments") if r["status"] != "Cancelled")
    day = booked["scheduled_time"][:10]
    async with api(state) as client:
        free = (
            await client.get("/api/availability", params={"date": day, "office": booked["office"]})
        ).json()
        too_wide = await client.get(
            "/api/availability", params={"date_range": "2024-01-01/2024-06-01"}
        )
    starts = {(s["exam_room"], s["start"]) for s in free["results"]}
    assert starts
    assert (booked["exam_room"], booked["scheduled_time"]) not in starts
    assert too_wide.status_code == 400


async def test_work_schedules_of_the_tokens_doctor_and_primary_office() -> None:
    state = make_state()
    async with api(state, username="doctor2") as client:
        doctor = (await client.get("/api/doctor_work_schedule")).json()
        office = (await client.get("/api/office_work_schedule")).json()
        patched = await client.patch(
            f"/api/doctor_work_schedule/{doctor['id']}", json={"work_days": []}
        )
    assert doctor["doctor"] == 268002
    assert office["office"] == 301001
    check(doctor, json_schema("WorkSchedule"))
    assert patched.status_code == 204


async def test_patient_documents_are_synthetic_xml() -> None:
    state = make_state()
    patient = first_id(state, "patients", practice=MAIN_PRACTICE)
    async with api(state) as client:
        for action in ("ccda", "ccda_async", "qrda1"):
            response = await client.get(f"/api/patients/{patient}/{action}")
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("application/xml")
            assert response.text.startswith("<?xml")
            assert str(patient) in response.text


async def test_signed_consent_forms_patch_on_the_collection() -> None:
    state = make_state()
    signed = first_id(state, "signed_consent_forms")
    async with api(state) as client:
        patched = await client.patch(
            "/api/signed_consent_forms",
            params={"id": signed},
            data={"archived": "true"},
            files={"signature_file": ("sig.png", b"fake-png", "image/png")},
        )
        missing = await client.patch("/api/signed_consent_forms", data={"archived": "true"})
        unknown = await client.patch("/api/signed_consent_forms", params={"id": 1}, data={})
    record = state.records.get("signed_consent_forms", signed)
    assert patched.status_code == 204
    assert record is not None
    assert record["archived"] is True
    assert record["_files"]["signature_file"] == {"name": "sig.png", "size": 8}
    assert missing.json() == {"id": ["This field is required."]}
    assert unknown.status_code == 404
