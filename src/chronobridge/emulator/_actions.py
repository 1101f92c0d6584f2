"""DrChrono's special endpoints (facts §7): sub-actions on one record and the few paths that do
not follow the CRUD pattern. `HANDLERS` maps every ACTION operation of the catalog to one."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from chronobridge.emulator import _reports
from chronobridge.emulator._call import Call, Handler
from chronobridge.emulator._cleaners import STRING
from chronobridge.emulator._crud import Rejected, prepare
from chronobridge.emulator._http import (
    REQUIRED,
    BodyError,
    detail,
    expect_object,
    field_error,
    forbidden,
    invalid,
    no_content,
    not_found,
    ok,
    parse_int,
    read_body,
)
from chronobridge.emulator._keyed import keyed
from chronobridge.emulator._tables import item, visible

MAX_EXAM_ROOMS = 10
ROOMS_FULL = "Office already has the maximum number of exam rooms"
LOCKED = "Cannot modify a locked clinical note."
NOTEPAD_PARAMS = "both appointment_id and template_id must be specified"


async def _body(call: Call) -> dict[str, Any] | Response:
    try:
        return dict(expect_object(await read_body(call.request)))
    except BodyError as exc:
        return exc.response


async def current_user(call: Call) -> Response:
    """302 to /api/users/{id} of the token's user."""
    location = f"{str(call.request.base_url).rstrip('/')}/api/users/{call.principal.user.id}"
    return Response(status_code=302, headers={"Location": location})


async def iframe_integration(call: Call) -> Response:
    """Facts §6: a doctor's token registers (POST) or disables (DELETE) the app's iframe."""
    user = call.principal.user
    if not user.is_doctor:
        return forbidden()
    pair = (call.client_id, user.doctor)
    if call.op.method == "POST":
        call.state.iframes.add(pair)
    else:
        call.state.iframes.discard(pair)
    return no_content()


async def add_exam_room(call: Call) -> Response:
    found = item(call.state, call.principal, call.op, call.raw_id)
    if found is None:
        return not_found()
    body = await _body(call)
    if isinstance(body, Response):
        return body
    office, meta = found
    rooms = list(office.get("exam_rooms") or [])
    if len(rooms) >= MAX_EXAM_ROOMS:
        return invalid([ROOMS_FULL])
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        return field_error("name", STRING)
    index = len(rooms) + 1
    rooms.append({"index": index, "name": name or f"Exam {index}", "online_scheduling": True})
    record = call.state.records.update(
        "offices", int(office["id"]), {"exam_rooms": rooms}, client_id=call.client_id
    )
    return ok(call.renderer.wire("Office", record, meta, verbose=True), 201)


async def append_to_pharmacy_note(call: Call) -> Response:
    found = item(call.state, call.principal, call.op, call.raw_id)
    if found is None:
        return not_found()
    body = await _body(call)
    if isinstance(body, Response):
        return body
    text = next((body[k] for k in ("text", "note", "pharmacy_note") if k in body), None)
    if text is None:
        return field_error("text", REQUIRED)
    if not isinstance(text, str):
        return field_error("text", STRING)
    old = str(found[0].get("pharmacy_note") or "")
    note = f"{old}\n\n{text}" if old else text
    call.state.records.update(
        "medications", int(found[0]["id"]), {"pharmacy_note": note}, client_id=call.client_id
    )
    return no_content()


async def consent_to_appointment(call: Call) -> Response:
    """Assign (apply) or unassign a consent form to an appointment."""
    found = item(call.state, call.principal, call.op, call.raw_id)
    if found is None:
        return not_found()
    body = await _body(call)
    if isinstance(body, Response):
        return body
    raw = body.get("appointment", call.query.get("appointment"))
    if raw is None:
        return field_error("appointment", REQUIRED)
    appointment = parse_int(str(raw)) if not isinstance(raw, bool | dict | list) else None
    if appointment is None or not call.exists("appointments", appointment):
        return field_error("appointment", f'Invalid pk "{raw}" - object does not exist.')
    assignments = keyed(call.state, "consent_assignments").items
    key = f"{found[0]['id']}:{appointment}"
    if call.op.action == "apply_to_appointment":
        assignments[key] = True
    else:
        assignments.pop(key, None)
    return no_content()


async def signed_consent_form_patch(call: Call) -> Response:
    """PATCH on the collection with `?id=` (facts §7)."""
    raw = call.query.get("id")
    if raw is None:
        return field_error("id", REQUIRED)
    found = visible(call.state, call.principal, "signed_consent_forms", parse_int(raw))
    if found is None:
        return not_found()
    body = await _body(call)
    if isinstance(body, Response):
        return body
    outcome = prepare(call, body, found[0], partial=True, pending=())
    if isinstance(outcome, Rejected):
        return invalid(outcome.errors)
    if isinstance(outcome, Response):
        return outcome
    outcome.pop("id", None)
    if outcome:
        record_id = int(found[0]["id"])
        call.state.records.update(
            "signed_consent_forms", record_id, outcome, client_id=call.client_id
        )
    return no_content()


def _notepad_target(call: Call) -> tuple[int, int] | Response:
    raw_appointment, raw_template = call.query.get("appointment_id"), call.query.get("template_id")
    if not raw_appointment or not raw_template:
        return invalid([NOTEPAD_PARAMS])
    appointment, template = parse_int(raw_appointment), parse_int(raw_template)
    if appointment is None or template is None:
        name = "appointment_id" if appointment is None else "template_id"
        return invalid([f"{name} must be an integer"])
    if visible(call.state, call.principal, "appointments", appointment) is None:
        return not_found()
    if visible(call.state, call.principal, "clinical_note_templates", template) is None:
        return not_found()
    return appointment, template


async def yellow_notepad(call: Call) -> Response:
    target = _notepad_target(call)
    if isinstance(target, Response):
        return target
    appointment, template = target
    notes = keyed(call.state, "yellow_notepad").items
    key = f"{appointment}:{template}"
    if call.op.method == "POST":
        body = await _body(call)
        if isinstance(body, Response):
            return body
        content = body.get("content")
        if content is None or not isinstance(content, str):
            return field_error("content", REQUIRED if content is None else STRING)
        if _note_locked(call, appointment):
            return detail(LOCKED, 409)
        notes[key] = content.replace("\r\n", "\n").replace("\r", "\n")
    body_out = {
        "appointment_id": appointment,
        "template_id": template,
        "content": notes.get(key, ""),
    }
    return ok(body_out, call.op.success_status)


def _note_locked(call: Call, appointment: int) -> bool:
    wanted = str(appointment)
    for note, _meta in call.state.records.scan("clinical_notes"):
        if str(note.get("appointment")) == wanted:
            return bool(note.get("locked"))
    return False


async def onpatient_access(call: Call) -> Response:
    found = item(call.state, call.principal, call.op, call.raw_id)
    if found is None:
        return not_found()
    patient = found[0]
    invites = keyed(call.state, "onpatient_access").items
    key = str(patient["id"])
    if call.op.method == "DELETE":
        invites.pop(key, None)
        return no_content()
    if call.op.method == "POST":
        body = await _body(call)
        if isinstance(body, Response):
            return body
        email = body.get("email", patient.get("email"))
        if not isinstance(email, str) or "@" not in email:
            return field_error("email", "Enter a valid email address.")
        invites[key] = {"email": email, "invited_at": call.state.clock.now().isoformat()}
    invite = invites.get(key)
    answer = {
        **call.renderer.wire("Patient", patient, found[1], verbose=False),
        "onpatient_access": {
            "email": (invite or {}).get("email", patient.get("email")),
            "status": "invited" if invite else "not_invited",
            "invited_at": (invite or {}).get("invited_at"),
        },
    }
    return ok(answer, call.op.success_status)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("GET", "/api/users/current"): current_user,
    ("POST", "/api/iframe_integration"): iframe_integration,
    ("DELETE", "/api/iframe_integration"): iframe_integration,
    ("POST", "/api/offices/{id}/add_exam_room"): add_exam_room,
    ("PATCH", "/api/medications/{id}/append_to_pharmacy_note"): append_to_pharmacy_note,
    ("POST", "/api/consent_forms/{id}/apply_to_appointment"): consent_to_appointment,
    ("POST", "/api/consent_forms/{id}/unapply_from_appointment"): consent_to_appointment,
    ("PATCH", "/api/signed_consent_forms"): signed_consent_form_patch,
    ("GET", "/api/yellow_notepad"): yellow_notepad,
    ("POST", "/api/yellow_notepad"): yellow_notepad,
    ("GET", "/api/patients/{id}/onpatient_access"): onpatient_access,
    ("POST", "/api/patients/{id}/onpatient_access"): onpatient_access,
    ("DELETE", "/api/patients/{id}/onpatient_access"): onpatient_access,
    **_reports.HANDLERS,
}
