"""The registry of pure transforms a mapping file may name, each with its way back.

A transform is built once per field when the mapping is compiled (its arguments checked then),
and the built step is a plain function `(value, scope) -> value`. Steps never see a null value:
the field's `default` handles those. A step that cannot convert raises `Rejected` with a fixed
reason; the reason names the rule, never the value (no patient data in error texts).

`reverse` builds the step that turns a practice-model value back into DrChrono's form for
write-back (None: the field is not written back).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from chronobridge.domain import phones
from chronobridge.domain.timezones import TimeZones

__all__ = ["TRANSFORMS", "MappingContext", "Plain", "Rejected", "Scope", "Step", "Transform"]


class Rejected(Exception):
    """A value did not fit a rule; `reason` is a fixed sentence without the value."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class MappingContext:
    """What mapping needs besides the record: built once per sync, shared by every record."""

    timezones: TimeZones = field(default_factory=TimeZones)
    region: str = "US"
    """The default region for phone numbers written without a country code."""


@dataclass(slots=True)
class Scope:
    """One record being mapped. Forward: `source` is DrChrono's record, `target` the row so far.
    Reverse: `source` is the request body so far, `target` the practice-model values."""

    source: Mapping[str, Any]
    target: Mapping[str, Any]
    context: MappingContext


Step = Callable[[Any, Scope], Any]
Factory = Callable[[Mapping[str, Any]], Step]


@dataclass(frozen=True, slots=True, kw_only=True)
class Transform:
    name: str
    doc: str
    forward: Factory
    reverse: Factory | None = None
    params: Mapping[str, type | tuple[type, ...]] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    reads_target: str | None = None
    """The argument naming an earlier target field this transform reads (checked at load)."""
    reads_source: str | None = None
    """The argument naming a source field the reverse step reads from the body being built."""


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise Rejected("expected text")
    return value


@dataclass(frozen=True, slots=True)
class Plain:
    """A transform that needs neither arguments nor the scope: compiled code calls `fn` as is."""

    fn: Callable[[Any], Any]

    def __call__(self, _args: Mapping[str, Any]) -> Step:
        fn = self.fn
        return lambda value, _scope: fn(value)


def _plain(fn: Callable[[Any], Any]) -> Plain:
    return Plain(fn)


def _identity(value: Any) -> Any:
    return value


def _strip(value: Any) -> str:
    return _text(value).strip()


def _lower(value: Any) -> str:
    return _text(value).lower()


def _upper(value: Any) -> str:
    return _text(value).upper()


def _null_if_blank(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise Rejected("expected a whole number")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Rejected("expected a whole number") from None


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "y", "t"}:
        return True
    if text in {"false", "0", "no", "n", "f", ""}:
        return False
    raise Rejected("expected true or false")


def _to_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise Rejected("expected an id")
    return str(value)


def _from_id(value: Any) -> Any:
    return int(value) if isinstance(value, str) and value.isdigit() else value


def _to_date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    text = _text(value)
    if not _DATE.fullmatch(text):
        raise Rejected("expected a date YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Rejected("expected a date YYYY-MM-DD") from None


def _from_date(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _local_to_utc(args: Mapping[str, Any]) -> Step:
    tz_from = str(args["tz_from"])

    def step(value: Any, scope: Scope) -> datetime:
        try:
            return scope.context.timezones.to_utc(_text(value), doctor=scope.source.get(tz_from))
        except ValueError:
            raise Rejected("expected a date and time YYYY-MM-DDTHH:MM:SS") from None

    return step


def _utc_to_local(args: Mapping[str, Any]) -> Step:
    tz_from = str(args["tz_from"])

    def step(value: Any, scope: Scope) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.utcoffset() is None:
            raise Rejected("expected a timezone-aware date and time")
        return scope.context.timezones.to_drchrono(value, doctor=scope.source.get(tz_from))

    return step


def _e164(args: Mapping[str, Any]) -> Step:
    region, on_invalid = args.get("region"), str(args["on_invalid"])

    def step(value: Any, scope: Scope) -> Any:
        text = _text(value)
        number = phones.to_e164(text, region=region or scope.context.region)
        if number is not None or not text.strip():
            return number
        if on_invalid == "error":
            raise Rejected("not a possible phone number")
        return text if on_invalid == "keep" else None

    return step


def _e164_back(_args: Mapping[str, Any]) -> Step:
    return lambda value, _scope: phones.to_drchrono(value) if _is_e164(value) else value


def _is_e164(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("+") and value[1:].isdigit()


def _end_time(args: Mapping[str, Any]) -> Step:
    start = str(args["start"])

    def step(value: Any, scope: Scope) -> datetime | None:
        begin = scope.target.get(start)
        return None if begin is None else begin + timedelta(minutes=_to_int(value))

    return step


def _duration(args: Mapping[str, Any]) -> Step:
    start = str(args["start"])

    def step(value: Any, scope: Scope) -> int | None:
        begin = scope.target.get(start)
        if value is None or begin is None:
            return None
        if not isinstance(value, datetime) or not isinstance(begin, datetime):
            raise Rejected("expected a date and time")
        minutes, rest = divmod((value - begin).total_seconds(), 60)
        if rest or minutes < 0:
            raise Rejected("the end must be a whole number of minutes after the start")
        return int(minutes)

    return step


def _first(value: Any) -> Any:
    if not isinstance(value, list | tuple):
        raise Rejected("expected a list")
    return value[0] if value else None


def _join(args: Mapping[str, Any]) -> Step:
    separator = str(args["separator"])

    def step(value: Any, _scope: Scope) -> str:
        if not isinstance(value, list | tuple):
            raise Rejected("expected a list")
        return separator.join(str(item) for item in value if item not in (None, ""))

    return step


def _t(name: str, doc: str, forward: Factory, reverse: Factory | None, **extra: Any) -> Transform:
    return Transform(name=name, doc=doc, forward=forward, reverse=reverse, **extra)


_SAME = _plain(_identity)
_ON_INVALID = ("error", "keep", "null")

TRANSFORMS: dict[str, Transform] = {
    t.name: t
    for t in (
        _t("strip", "Trim surrounding white space.", _plain(_strip), _SAME),
        _t("lower", "Lower-case text (written back as is).", _plain(_lower), _SAME),
        _t("upper", "Upper-case text (written back as is).", _plain(_upper), _SAME),
        _t("null_if_blank", "Empty or blank text becomes null (written back as \"\").",
           _plain(_null_if_blank), _plain(lambda v: "" if v is None else v)),
        _t("str", "Any value as text.", _plain(str), _SAME),
        _t("int", "A whole number.", _plain(_to_int), _SAME),
        _t("bool", "true/false, 1/0, yes/no.", _plain(_to_bool), _SAME),
        _t("id", "A DrChrono id as text (appointment ids are text); written back as a number "
           "when it is one.", _plain(_to_id), _plain(_from_id)),
        _t("date", "A date YYYY-MM-DD.", _plain(_to_date), _plain(_from_date)),
        _t("datetime_local_to_utc", "DrChrono's zone-less time, read in the zone of the doctor "
           "named by `tz_from`, as UTC; written back as that doctor's wall clock.",
           _local_to_utc, _utc_to_local, params={"tz_from": str},
           defaults={"tz_from": "doctor"}, reads_source="tz_from"),
        _t("e164", "A phone number in E.164 (+15550100100); `region` for numbers without a "
           "country code (default: the context's); `on_invalid`: error, keep or null.",
           _e164, _e164_back, params={"region": str, "on_invalid": str},
           defaults={"on_invalid": "error"}),
        _t("end_time_from_duration", "A duration in minutes added to the earlier target field "
           "`start`; written back as the minutes between them.", _end_time, _duration,
           params={"start": str}, defaults={"start": "start_time"}, reads_target="start"),
        _t("first", "The first item of a list, or null.", _plain(_first), None),
        _t("join", "List items joined by `separator` (default \", \").", _join, None,
           params={"separator": str}, defaults={"separator": ", "}),
    )
}  # fmt: skip

CHOICES: dict[tuple[str, str], tuple[str, ...]] = {("e164", "on_invalid"): _ON_INVALID}
"""Arguments limited to a few values: (transform, argument) → allowed values."""
