"""Every operation of the catalog answers the emulator's /api with its documented success status
for a valid request, and its JSON body fits the catalog's schema.

One documented difference: DrChrono's document gives PUT/DELETE /api/appointments/{id} no 2xx
answer (the overlay's placeholder makes it 200) and lists 200 before the "alternative" 204 for
PUT/PATCH /api/schedule_blocks/{id}. Recorded traffic (facts §7) says PUT, PATCH and DELETE
answer 204 with an empty body, so the emulator answers 204 for every one of them.
"""

from __future__ import annotations

from typing import Any

import pytest

from chronobridge.catalog import CATALOG, Kind, Operation
from chronobridge.emulator import EmulatorState
from chronobridge.emulator._crud import write_schema
from chronobridge.emulator._seed import MAIN_PRACTICE
from chronobridge.emulator._tables import table_name
from chronobridge.emulator._validate import fields
from support.rest_api import api, check, envelope, first_id, json_schema, make_state

WRITES_WITHOUT_BODY = (Kind.UPDATE, Kind.PATCH, Kind.DELETE)


def expected_status(op: Operation) -> int:
    return 204 if op.kind in WRITES_WITHOUT_BODY else op.success_status


def path_id(state: EmulatorState, op: Operation) -> str:
    table = table_name(op.resource)
    if table == "users":
        return str(state.user_by_name("doctor1").id)  # type: ignore[union-attr]
    return str(first_id(state, table, practice=MAIN_PRACTICE))


def body_from(state: EmulatorState, op: Operation, record_id: int | None) -> dict[str, Any]:
    """A valid body: the writable fields of a seeded record of the same table."""
    schema = write_schema(op)
    if schema is None:
        return {}
    table = table_name(op.resource)
    source = state.records.get(table, record_id or first_id(state, table, practice=MAIN_PRACTICE))
    assert source is not None
    known = fields(schema)
    body = {
        k: v
        for k, v in source.items()
        if k in known and not known[k].read_only and v is not None and not k.startswith("_")
    }
    if table == "appointments":
        body["scheduled_time"] = "2099-03-04T10:00:00"
    return body


def special_query(state: EmulatorState, op: Operation) -> dict[str, str]:
    values = {
        "payer_type": "primary",
        "start_date": "1/1/2020",
        "end_date": "12/31/2030",
        "appointment_id": str(_unlocked_appointment(state)),
        "template_id": str(first_id(state, "clinical_note_templates")),
        "id": str(first_id(state, "signed_consent_forms")),
    }
    query = {p.name: values[p.name] for p in op.query_params if p.required}
    if op.required_one_of:
        query["since"] = "2000-01-01"
    return query


def _unlocked_appointment(state: EmulatorState) -> int:
    noted = {str(n["appointment"]) for n, _m in state.records.scan("clinical_notes")}
    return next(
        int(r["id"])
        for r, _m in state.records.scan("appointments")
        if str(r["id"]) not in noted and r["patient"] is not None
    )


ACTION_BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/consent_forms/{id}/apply_to_appointment"): "appointment",
    ("POST", "/api/consent_forms/{id}/unapply_from_appointment"): "appointment",
    ("PATCH", "/api/medications/{id}/append_to_pharmacy_note"): {"text": "Take with food."},
    ("POST", "/api/yellow_notepad"): {"content": "Line one\r\nLine two"},
    ("POST", "/api/offices/{id}/add_exam_room"): {"name": "Exam Annex"},
}


def request_for(state: EmulatorState, op: Operation) -> dict[str, Any]:
    record_id = int(path_id(state, op)) if op.is_item else None
    url = op.path.replace("{id}", str(record_id)) if record_id else op.path
    kwargs: dict[str, Any] = {"params": special_query(state, op)}
    body: Any = ACTION_BODIES.get((op.method, op.path))
    if body is None and op.kind in (Kind.CREATE, Kind.UPDATE, Kind.PATCH):
        body = body_from(state, op, record_id if op.kind is not Kind.CREATE else None)
    if body is None and op.kind is Kind.ACTION and op.body_schema:
        body = body_from(state, op, None)
    if body == "appointment":
        body = {"appointment": first_id(state, "appointments")}
    if body is not None and "multipart/form-data" in op.body_media:
        kwargs["data"] = {
            k: str(v)
            for k, v in body.items()
            if not isinstance(v, list | dict) and k != "signature_file"
        }
        kwargs["files"] = {"signature_file": ("signature.png", b"\x89PNG fake", "image/png")}
    elif body is not None:
        kwargs["json"] = body
    return {"method": op.method, "url": url, **kwargs}


def response_schema(op: Operation) -> dict[str, Any] | None:
    if op.schema is None or op.response_media != "application/json":
        return None
    if op.kind is Kind.LIST:
        return envelope(op.schema)
    if op.kind in (Kind.GET, Kind.CREATE, Kind.ACTION):
        return json_schema(op.schema)
    return None


@pytest.mark.parametrize("op", CATALOG.operations, ids=lambda op: op.name)
async def test_operation_answers_its_success_status(op: Operation) -> None:
    state = make_state(patients=10, appointments=30)
    async with api(state) as client:
        if op.kind is Kind.BATCH_FETCH:
            submitted = await client.post(op.path)
            assert submitted.status_code == 201, submitted.text
            response = await client.get(op.path, params={"uuid": submitted.json()["uuid"]})
        else:
            response = await client.request(**request_for(state, op))
    assert response.status_code == expected_status(op), response.text
    if response.status_code == 204:
        assert response.content == b""
    schema = response_schema(op)
    if schema is not None and response.status_code in (200, 201):
        check(response.json(), schema)
