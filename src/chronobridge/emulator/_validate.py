"""Request bodies checked against the catalog's schemas, the way Django REST framework does.

`validate` returns the cleaned values (coerced to the schema's types) and DRF's error body
`{field: [messages]}`. Read-only and unknown fields are ignored, as DRF ignores them. Dates are
`YYYY-MM-DD`; datetimes are ISO 8601 and are stored as the doctor's local wall time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from chronobridge.catalog import CATALOG
from chronobridge.emulator._http import INTEGER, REQUIRED, Upload, parse_int, type_name

NUMBER = "A valid number is required."
BOOLEAN = "Must be a valid boolean."
STRING = "Not a valid string."
NOT_NULL = "This field may not be null."
BLANK = "This field may not be blank."
DATE = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
DATETIME = (
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)

# Reference fields checked against the records they name ("where obvious").
REFERENCES: dict[str, str] = {
    "patient": "patients",
    "doctor": "doctors",
    "provider": "doctors",
    "ordering_doctor": "doctors",
    "office": "offices",
    "appointment": "appointments",
    "lab_order": "lab_orders",
    "task": "tasks",
}
DATETIME_NAMES = frozenset({"scheduled_time", "administration_start", "effective_time"})
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_DECIMAL_INT = re.compile(r"\s*-?[0-9]{1,18}(\.0*)?\s*")
_TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "off", "0"})
_MAX_INT = 2**63


Cleaner = Callable[["Field", Any, ZoneInfo], Any]


class Invalid(Exception):
    """One field's value is wrong; the message is DRF's."""


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: str | None
    read_only: bool
    fmt: str = ""
    enum: frozenset[str] | None = None
    items: str | None = None


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
    for name, raw in body.items():
        spec = known.get(name)
        if spec is None or spec.read_only or name in outcome.errors:
            continue
        _one(outcome, spec, raw, zone=zone, must=name in must, exists=exists)
    return outcome


def _one(
    outcome: Outcome,
    spec: Field,
    raw: Any,
    *,
    zone: ZoneInfo,
    must: bool,
    exists: Callable[[str, int], bool],
) -> None:
    name = spec.name
    try:
        value = _clean(spec, raw, zone=zone, must=must)
    except Invalid as exc:
        outcome.errors[name] = exc.args[0] if isinstance(exc.args[0], dict) else [exc.args[0]]
        return
    if isinstance(raw, Upload):
        outcome.files[name] = {"name": raw.name, "size": raw.size}
    target = REFERENCES.get(name)
    if target and value is not None and isinstance(value, int) and not exists(target, value):
        outcome.errors[name] = [f'Invalid pk "{value}" - object does not exist.']
        return
    if target == "appointments" and isinstance(value, str):
        number = parse_int(value)
        if number is None or not exists(target, number):
            outcome.errors[name] = [f'Invalid pk "{value}" - object does not exist.']
            return
    outcome.values[name] = value


def _clean(spec: Field, raw: Any, *, zone: ZoneInfo, must: bool) -> Any:
    if raw is None:
        if must:
            raise Invalid(NOT_NULL)
        return None
    cleaner: Cleaner = _CLEANERS.get(spec.type or "", _any_object)
    value = cleaner(spec, raw, zone)
    if must and value == "":
        raise Invalid(BLANK)
    return value


def _integer(_spec: Field, raw: Any, _zone: ZoneInfo) -> int:
    if isinstance(raw, bool):
        raise Invalid(INTEGER)
    if isinstance(raw, int):
        if abs(raw) >= _MAX_INT:
            raise Invalid(INTEGER)
        return raw
    if isinstance(raw, float) and math.isfinite(raw) and raw.is_integer() and abs(raw) < _MAX_INT:
        return int(raw)
    if isinstance(raw, str) and _DECIMAL_INT.fullmatch(raw):
        return int(raw.strip().split(".")[0])
    raise Invalid(INTEGER)


def _number(_spec: Field, raw: Any, _zone: ZoneInfo) -> float | int:
    if isinstance(raw, bool):
        raise Invalid(NUMBER)
    if isinstance(raw, int) and abs(raw) < _MAX_INT:
        return raw
    if isinstance(raw, float) and math.isfinite(raw):
        return raw
    if isinstance(raw, str) and len(raw) <= 64:
        try:
            number = float(raw)
        except ValueError:
            raise Invalid(NUMBER) from None
        if math.isfinite(number):
            return number
    raise Invalid(NUMBER)


def _boolean(_spec: Field, raw: Any, _zone: ZoneInfo) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return raw == 1
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
    raise Invalid(BOOLEAN)


def _string(spec: Field, raw: Any, zone: ZoneInfo) -> str | None:
    if isinstance(raw, Upload):
        return raw.wire()
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise Invalid(STRING)
    if isinstance(raw, float) and not math.isfinite(raw):
        raise Invalid(STRING)
    text = raw if isinstance(raw, str) else str(raw)
    if spec.enum is not None and text not in spec.enum:
        raise Invalid(f'"{text}" is not a valid choice.')
    if spec.fmt == "date":
        return _date(text)
    if spec.fmt == "datetime":
        return _datetime(text, zone)
    return text


def _date(text: str) -> str | None:
    if text == "":
        return None
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise Invalid(DATE) from None


def _datetime(text: str, zone: ZoneInfo) -> str | None:
    if text == "":
        return None
    cleaned = text.strip()
    try:
        if not _DATETIME.fullmatch(cleaned):
            raise ValueError(text)
        moment = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(DATETIME) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")


def _array(spec: Field, raw: Any, zone: ZoneInfo) -> list[Any]:
    if not isinstance(raw, list):
        raise Invalid(f'Expected a list of items but got type "{type_name(raw)}".')
    item_spec = Field(name=spec.name, type=spec.items, read_only=False)
    cleaner: Cleaner | None = _CLEANERS.get(spec.items or "")
    if cleaner is None or spec.items in ("array", "object"):
        return _objects(raw) if spec.items == "object" else list(raw)
    out: list[Any] = []
    errors: dict[str, list[str]] = {}
    for index, item in enumerate(raw):
        try:
            out.append(None if item is None else cleaner(item_spec, item, zone))
        except Invalid as exc:
            errors[str(index)] = [str(exc.args[0])]
    if errors:
        raise Invalid(errors)
    return out


def _objects(raw: list[Any]) -> list[Any]:
    for item in raw:
        if not isinstance(item, dict):
            raise Invalid(f"Invalid data. Expected a dictionary, but got {type_name(item)}.")
    return list(raw)


def _object(_spec: Field, raw: Any, _zone: ZoneInfo) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise Invalid(f'Expected a dictionary of items but got type "{type_name(raw)}".')
    return raw


def _any_object(spec: Field, raw: Any, zone: ZoneInfo) -> dict[str, Any]:
    return _object(spec, raw, zone)


_CLEANERS: dict[str, Cleaner] = {
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "string": _string,
    "array": _array,
    "object": _object,
}
