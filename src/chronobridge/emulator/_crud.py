"""The generic item handlers: GET, POST (one object or a JSON array of them), PUT, PATCH, DELETE.

Facts §7: POST answers 201 with the created object (an array for an array); PUT and PATCH answer
204 with an empty body; DELETE 204 and the record is gone for later GETs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from starlette.responses import Response

from chronobridge.catalog import CATALOG, Kind, Operation
from chronobridge.emulator import _appointments
from chronobridge.emulator._call import Call
from chronobridge.emulator._http import (
    BodyError,
    expect_object,
    invalid,
    is_form,
    no_content,
    not_found,
    ok,
    read_body,
    truthy,
)
from chronobridge.emulator._records import Record
from chronobridge.emulator._serialize import FILES_KEY
from chronobridge.emulator._tables import item
from chronobridge.emulator._validate import consistent, listify, validate


@dataclass(frozen=True, slots=True)
class Rejected:
    errors: dict[str, Any]


WriteHook = Callable[[Call, dict[str, Any], Record | None, Iterable[Record]], Response | None]
TIMESTAMPS = frozenset({"created_at", "updated_at", "id"})


def _patient_defaults(
    call: Call, values: dict[str, Any], existing: Record | None, _pending: Iterable[Record]
) -> Response | None:
    """A new patient without a chart id gets one made from the name, like DrChrono does."""
    if existing is None and not values.get("chart_id"):
        stem = "".join(c for c in str(values.get("last_name") or "") if c.isalpha())[:4].upper()
        next_id = call.state.records.table(call.table).next_id
        values["chart_id"] = f"{stem or 'PAT'}{next_id % 1_000_000:06d}"
    return None


HOOKS: dict[str, WriteHook] = {
    "appointments": _appointments.before_write,
    "patients": _patient_defaults,
}


@cache
def write_schema(op: Operation) -> str | None:
    """The schema a body is checked against: the operation's, else its resource's create body."""
    if op.body_schema:
        return op.body_schema
    resource = CATALOG.resource(op.resource)
    create = resource.op(Kind.CREATE)
    return (create.body_schema if create else None) or resource.schema


@cache
def template(schema: str | None) -> dict[str, Any]:
    """Every field of a new record, empty: arrays [], everything else null."""
    props: dict[str, Any] = CATALOG.schemas.get(schema or "", {}).get("properties", {})
    return {
        name: [] if prop.get("type") == "array" else None
        for name, prop in props.items()
        if name not in TIMESTAMPS
    }


async def get(call: Call) -> Response:
    found = item(call.state, call.principal, call.op, call.raw_id)
    if found is None:
        return not_found()
    record, meta = found
    return ok(call.renderer.wire(call.op.schema, record, meta, verbose=True))


async def delete(call: Call) -> Response:
    found = item(call.state, call.principal, call.op, call.raw_id)
    if found is None:
        return not_found()
    call.state.records.delete(call.table, int(found[0]["id"]), client_id=call.client_id)
    return no_content()


async def create(call: Call) -> Response:
    try:
        body = await read_body(call.request)
        items = body if isinstance(body, list) else [expect_object(body)]
        prepared: list[dict[str, Any]] = []
        errors: list[Any] = []
        for raw in items:
            outcome = prepare(call, expect_object(raw), None, partial=False, pending=prepared)
            if isinstance(outcome, Response):
                return outcome
            errors.append(outcome.errors if isinstance(outcome, Rejected) else {})
            prepared.append(outcome if isinstance(outcome, dict) else {})
    except BodyError as exc:
        return exc.response
    if any(errors):
        return invalid(errors if isinstance(body, list) else errors[0])
    created = [_store(call, values) for values in prepared]
    return ok(created if isinstance(body, list) else created[0], call.op.success_status)


def _store(call: Call, values: dict[str, Any]) -> Any:
    schema = call.op.schema or CATALOG.resource(call.op.resource).schema
    fields = {**template(schema), **values}
    record = call.state.records.create(
        call.table, fields, practice=call.practice, client_id=call.client_id
    )
    meta = call.state.records.table(call.table).meta[int(record["id"])]
    return call.renderer.wire(schema, record, meta, verbose=True)


async def update(call: Call) -> Response:
    found = item(call.state, call.principal, call.op, call.raw_id)
    if found is None:
        return not_found()
    record = found[0]
    try:
        body = expect_object(await read_body(call.request))
    except BodyError as exc:
        return exc.response
    partial = call.op.kind is not Kind.UPDATE
    outcome = prepare(call, body, record, partial=partial, pending=())
    if isinstance(outcome, Rejected):
        return invalid(outcome.errors)
    if isinstance(outcome, Response):
        return outcome
    if outcome:
        call.state.records.update(call.table, int(record["id"]), outcome, client_id=call.client_id)
    return no_content()


def prepare(
    call: Call,
    body: Mapping[str, Any],
    existing: Record | None,
    *,
    partial: bool,
    pending: Iterable[Record],
) -> dict[str, Any] | Rejected | Response:
    """Validated values ready to store, the field errors, or another refusal (409)."""
    schema = write_schema(call.op)
    if schema is None:
        return {}
    if is_form(call.request):
        body = listify(body, schema)
    base = existing or {}
    doctor = body.get("doctor") or base.get("doctor") or call.principal.user.doctor
    breaks = truthy(body.get("appt_is_break", base.get("appt_is_break")))
    outcome = validate(
        body,
        schema,
        partial=partial,
        zone=call.renderer.zone({"doctor": doctor}, call.practice),
        exists=call.exists,
        nullable=frozenset({"patient"}) if breaks else frozenset(),
    )
    if outcome.errors:
        return Rejected(outcome.errors)
    values = outcome.values
    mismatched = consistent(values, existing, rooms=lambda office: _rooms(call, office))
    if mismatched:
        return Rejected(mismatched)
    if outcome.files:
        values[FILES_KEY] = {**base.get(FILES_KEY, {}), **outcome.files}
    hook = HOOKS.get(call.table)
    rejected = hook(call, values, existing, pending) if hook else None
    return rejected if rejected is not None else values


def _rooms(call: Call, office: int) -> frozenset[int] | None:
    """The indexes of an office's exam rooms (None when the office is unknown or keeps them in
    another shape, so the check is left to the reference check of `office`)."""
    if not call.exists("offices", office):
        return None
    rooms = (call.state.records.get("offices", office) or {}).get("exam_rooms")
    if not isinstance(rooms, list):
        return None
    return frozenset(
        r["index"] for r in rooms if isinstance(r, dict) and isinstance(r.get("index"), int)
    )
