"""Request bodies checked against the catalog's schemas, the way Django REST framework does.

`validate` returns the cleaned values (coerced to the schema's types) and DRF's error body
`{field: [messages]}`. Read-only and unknown fields are ignored, as DRF ignores them. Dates are
`YYYY-MM-DD`; datetimes are ISO 8601 and are stored as the doctor's local wall time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from chronobridge.catalog import CATALOG
from chronobridge.emulator._cleaners import Field, Invalid, clean
from chronobridge.emulator._http import REQUIRED, Upload, parse_int
from chronobridge.emulator._references import validated

DATETIME_NAMES = frozenset({"scheduled_time", "administration_start", "effective_time"})


@dataclass(slots=True)
class Outcome:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, Any] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)


@cache
def fields(schema: str) -> dict[str, Field]:
    props: dict[str, Any] = CATALOG.schemas.get(schema, {}).get("properties", {})
    return {name: _field(name, prop) for name, prop in props.items()}


def _field(name: str, prop: Mapping[str, Any]) -> Field:
    enum = prop.get("enum")
    items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
    kind = prop.get("type") or ("string" if enum else None)  # an enum without a type is text
    return Field(
        name=name,
        type=kind,
        read_only=bool(prop.get("readOnly")),
        fmt=value_format(name, prop),
        enum=frozenset(str(v) for v in enum) if enum and kind == "string" else None,
        items=(items or {}).get("type"),
    )


def value_format(name: str, prop: Mapping[str, Any]) -> str:
    """'date', 'datetime', 'binary' or '' for a schema property (by format, else by name)."""
    declared = prop.get("format")
    if declared == "date-time" or name in DATETIME_NAMES:
        return "datetime"
    if declared == "date" or name == "date" or name.startswith("date_") or name.endswith("_date"):
        return "date"
    return "binary" if declared == "binary" else ""


def required(schema: str) -> tuple[str, ...]:
    known = fields(schema)
    return tuple(
        n for n in CATALOG.required_fields(schema) if n in known and not known[n].read_only
    )


def listify(body: Mapping[str, Any], schema: str) -> dict[str, Any]:
    """Form bodies repeat a key for a list; a key given once is still a list for array fields."""
    known = fields(schema)
    return {
        k: [v] if k in known and known[k].type == "array" and not isinstance(v, list) else v
        for k, v in body.items()
    }


def validate(
    body: Mapping[str, Any],
    schema: str,
    *,
    partial: bool,
    zone: ZoneInfo,
    exists: Callable[[str, int], bool],
    nullable: frozenset[str] = frozenset(),
) -> Outcome:
    """Check `body`; `exists(resource, id)` answers reference checks within the practice."""
    outcome = Outcome()
    known = fields(schema)
    if not partial:
        for name in required(schema):
            if name not in body:
                outcome.errors[name] = [REQUIRED]
    must = frozenset(required(schema)) - nullable
    refs = validated(schema)
    for name, raw in body.items():
        spec = known.get(name)
        if spec is None or spec.read_only or name in outcome.errors:
            continue
        _one(outcome, spec, raw, zone=zone, must=name in must, exists=exists, target=refs.get(name))
    return outcome


END_BEFORE_START = "End time must be after start time."


def consistent(
    values: Mapping[str, Any],
    existing: Mapping[str, Any] | None,
    *,
    rooms: Callable[[int], frozenset[int] | None],
) -> dict[str, list[str]]:
    """Checks across fields, on the record as it would be after the write: an `exam_room` is one
    of its `office`'s rooms (`rooms(office)`, None when unknown), and an `end_time` comes after
    its `start_time` (schedule blocks, office hours). Only fields this write sets are judged."""
    merged = {**(existing or {}), **values}
    errors: dict[str, list[str]] = {}
    office, room = merged.get("office"), merged.get("exam_room")
    if {"office", "exam_room"} & values.keys() and isinstance(office, int):
        known = rooms(office)
        if isinstance(room, int) and known is not None and room not in known:
            errors["exam_room"] = [f'"{room}" is not a valid choice.']
    start, end = merged.get("start_time"), merged.get("end_time")
    if {"start_time", "end_time"} & values.keys() and start and end and str(end) <= str(start):
        errors["end_time"] = [END_BEFORE_START]
    return errors


def _one(
    outcome: Outcome,
    spec: Field,
    raw: Any,
    *,
    zone: ZoneInfo,
    must: bool,
    exists: Callable[[str, int], bool],
    target: str | None,
) -> None:
    name = spec.name
    try:
        value = clean(spec, raw, zone=zone, must=must)
    except Invalid as exc:
        outcome.errors[name] = exc.args[0] if isinstance(exc.args[0], dict) else [exc.args[0]]
        return
    if isinstance(raw, Upload):
        outcome.files[name] = {"name": raw.name, "size": raw.size}
    if target and value is not None and isinstance(value, int) and not exists(target, value):
        outcome.errors[name] = [f'Invalid pk "{value}" - object does not exist.']
        return
    if target == "appointments" and isinstance(value, str):
        number = parse_int(value)
        if number is None or not exists(target, number):
            outcome.errors[name] = [f'Invalid pk "{value}" - object does not exist.']
            return
    outcome.values[name] = value
