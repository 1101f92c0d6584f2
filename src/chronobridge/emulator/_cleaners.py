"""Single values coerced to a schema property's type, with Django REST framework's messages.

`clean(field, raw, zone=..., must=...)` returns the stored value or raises `Invalid` whose
argument is DRF's message (or, for a list, `{index: [message]}`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from chronobridge.emulator._http import INTEGER, Upload, type_name

NUMBER = "A valid number is required."
BOOLEAN = "Must be a valid boolean."
STRING = "Not a valid string."
NOT_NULL = "This field may not be null."
BLANK = "This field may not be blank."
NULL_CHARACTER = "Null characters are not allowed."
DATE = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
DATETIME = (
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_DECIMAL_INT = re.compile(r"\s*-?[0-9]{1,18}(\.0*)?\s*")
_TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "off", "0"})
_MAX_INT = 2**63


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


Cleaner = Callable[[Field, Any, ZoneInfo], Any]


def clean(spec: Field, raw: Any, *, zone: ZoneInfo, must: bool) -> Any:
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
    if "\x00" in text:
        raise Invalid(NULL_CHARACTER)
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
        try:
            moment = moment.astimezone(zone).replace(tzinfo=None)
        except OverflowError:  # year 1 or 9999 pushed past the calendar by the offset
            raise Invalid(DATETIME) from None
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
