"""Bad input answered the way the rest of the emulator answers it: references checked for
every field that names a record, cross-field rules on the record as it would be after the
write, date parameters checked by their name, and bodies no answer could carry refused."""

from __future__ import annotations

from typing import Any

import pytest

from chronobridge.emulator import EmulatorState
from chronobridge.emulator._seed import MAIN_PRACTICE
from chronobridge.emulator._validate import END_BEFORE_START
from support.rest_api import api, make_state

MISSING = 999_999_999


def seeded(state: EmulatorState, table: str) -> dict[str, Any]:
    return next(r for r, m in state.records.scan(table) if m.practice == MAIN_PRACTICE)


def invalid_pk(value: int) -> list[str]:
    return [f'Invalid pk "{value}" - object does not exist.']


async def test_an_exam_room_must_be_one_of_the_offices_rooms() -> None:
    state = make_state(patients=5, appointments=10)
    visit = seeded(state, "appointments")
    body = {k: visit[k] for k in ("doctor", "office", "patient")}
    async with api(state) as client:
        booked = await client.post("/api/appointments", json={
            **body, "exam_room": 9, "scheduled_time": "2099-01-02T09:00:00"
        })  # fmt: skip
        moved = await client.patch(f"/api/appointments/{visit['id']}", json={"exam_room": 9})
        fine = await client.patch(f"/api/appointments/{visit['id']}", json={"exam_room": 1})
    assert booked.status_code == 400
    assert booked.json() == {"exam_room": ['"9" is not a valid choice.']}
    assert moved.status_code == 400
    assert fine.status_code == 204


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ("tasks", "status"),
        ("tasks", "category"),
        ("clinical_note_field_values", "clinical_note_field"),
    ],
)
async def test_references_are_checked_for_tasks_and_note_fields(table: str, field: str) -> None:
    state = make_state(patients=5, appointments=10)
    record = seeded(state, table)
    async with api(state) as client:
        answer = await client.patch(f"/api/{table}/{record['id']}", json={field: MISSING})
        same = await client.patch(f"/api/{table}/{record['id']}", json={field: record[field]})
    assert answer.status_code == 400
    assert answer.json() == {field: invalid_pk(MISSING)}
    assert same.status_code == 204


async def test_a_schedule_block_ends_after_it_starts() -> None:
    state = make_state(patients=5, appointments=10)
    block = seeded(state, "schedule_blocks")
    body = {k: block[k] for k in ("provider", "office", "exam_room")}
    async with api(state) as client:
        created = await client.post("/api/schedule_blocks", json={
            **body, "start_time": "2099-01-02T10:00:00", "end_time": "2099-01-02T09:00:00"
        })  # fmt: skip
        shortened = await client.patch(
            f"/api/schedule_blocks/{block['id']}", json={"end_time": block["start_time"]}
        )
        fine = await client.post("/api/schedule_blocks", json={
            **body, "start_time": "2099-01-02T10:00:00", "end_time": "2099-01-02T11:00:00"
        })  # fmt: skip
    assert created.status_code == 400
    assert created.json() == {"end_time": [END_BEFORE_START]}
    assert shortened.status_code == 400
    assert fine.status_code == 201, fine.text


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/tasks", {"due_at_range": "bad"}, "due_at_range"),
        ("/api/tasks", {"due_at_date": "2024-13-01"}, "due_at_date"),
        ("/api/tasks", {"due_at_since": "soon"}, "due_at_since"),
        ("/api/procedures", {"mu_date": "1/2/2024"}, "mu_date"),
        ("/api/eligibility_checks", {"appointment_date_range": "x/y"}, "appointment_date_range"),
    ],
)
async def test_every_date_parameter_is_checked(
    path: str, params: dict[str, str], field: str
) -> None:
    state = make_state(patients=5, appointments=10)
    async with api(state) as client:
        answer = await client.get(path, params=params)
    assert answer.status_code == 400
    assert list(answer.json()) == [field]


async def test_good_date_parameters_pass_and_unknown_parameters_are_ignored() -> None:
    state = make_state(patients=5, appointments=10)
    async with api(state) as client:
        due = await client.get("/api/tasks", params={"due_at_range": "2024-01-01/2024-02-01"})
        ranged = await client.get("/api/line_items", params={"service_date_range": "bad"})
        unknown = await client.get("/api/tasks", params={"not_a_filter_range": "bad"})
    assert due.status_code == 200
    assert ranged.status_code == 400
    assert unknown.status_code == 200


@pytest.mark.parametrize(
    ("content", "answer"),
    [
        ('{"first_name": "A\\u0000B", "gender": "Male", "doctor": 268001}',
         {"first_name": ["Null characters are not allowed."]}),
        ('{"first_name": "\\ud800", "gender": "Male", "doctor": 268001}', None),
        ('{"gender": "Male", "doctor": 268001, "copay": 1e400}', None),
    ],
)  # fmt: skip
async def test_bodies_no_answer_could_carry_are_refused(content: str, answer: Any) -> None:
    state = make_state(patients=5, appointments=10)
    before = state.records.count("patients")
    async with api(state) as client:
        response = await client.post(
            "/api/patients", content=content, headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    if answer is None:
        assert response.json()["detail"].startswith("JSON parse error - ")
    else:
        assert response.json() == answer
    assert state.records.count("patients") == before
