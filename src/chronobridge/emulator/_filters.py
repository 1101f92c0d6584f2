"""List filters: query parameters turned into predicates over (record, meta).

* `since` / `updated_since` (date, inclusive, on the updated time in the owning doctor's zone;
  a datetime is accepted too), `received_since` (messages), `occurred_since` (scheduled time);
* `date` and `date_range` (`start/end`, inclusive) on the record's scheduled date;
* `<x>_date` / `<x>_date_range` / `created_at` date filters where the schema has the field;
* equality for every other parameter that names a schema field.
Bad values raise `FilterError` (a 400 naming the parameter), never a 500.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from chronobridge.catalog import CATALOG
from chronobridge.emulator._cleaners import DATE, DATETIME
from chronobridge.emulator._http import INTEGER, parse_int
from chronobridge.emulator._records import Meta, Record
from chronobridge.emulator._serialize import Renderer, local_text
from chronobridge.emulator._state import EmulatorState
from chronobridge.emulator._validate import value_format

Predicate = Callable[[Record, Meta], bool]

RANGE = "Date range has wrong format. Use one of these formats instead: YYYY-MM-DD/YYYY-MM-DD."
RANGE_ORDER = "The start of the date range must not be after its end."
RANGE_TOO_WIDE = "Date range must not be longer than {days} days."
MAX_RANGE_DAYS = {"appointments": 190}  # facts §3: appointments_list names a 190-day window

# Parameters that are paging or flags, never filters.
RESERVED = frozenset(
    {"cursor", "page_size", "verbose", "show_archived", "ignore_virtual", "order_by", "page"}
    | {"uuid", "allow_overlapping", "allow_duplicates", "use_fee_schedule_defaults"}
)
ALIASES = {"order": "lab_order"}
DATED_FORMATS = frozenset({"date", "datetime"})
LOOSE = frozenset({"doctor", "office"})  # filter where the record carries the key
SCHEDULED = {"appointments": "scheduled_time", "schedule_blocks": "start_time"}
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class FilterError(Exception):
    def __init__(self, param: str, message: str) -> None:
        super().__init__(param)
        self.param = param
        self.message = message


def parse_date(param: str, text: str) -> date:
    try:
        if not _DATE_TEXT.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise FilterError(param, DATE) from None


def parse_moment(param: str, text: str) -> date | datetime:
    """A date, or a datetime (naive = the doctor's local time)."""
    if _DATE_TEXT.fullmatch(text):
        return parse_date(param, text)
    try:
        if len(text) > 40 or not text[:1].isdigit():
            raise ValueError(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(param, DATETIME) from None


def parse_range(param: str, text: str, *, max_days: int | None = None) -> tuple[date, date]:
    start_text, sep, end_text = text.partition("/")
    if not sep:
        raise FilterError(param, RANGE)
    try:
        start, end = parse_date(param, start_text), parse_date(param, end_text)
    except FilterError:
        raise FilterError(param, RANGE) from None
    if start > end:
        raise FilterError(param, RANGE_ORDER)
    if max_days is not None and (end - start).days + 1 > max_days:
        raise FilterError(param, RANGE_TOO_WIDE.format(days=max_days))
    return start, end


class Filters:
    """Builds the predicates of one request for one table."""

    def __init__(self, state: EmulatorState, renderer: Renderer, table: str, schema: str | None):
        self.state = state
        self.renderer = renderer
        self.table = table
        self.props: Mapping[str, Any] = CATALOG.schemas.get(schema or "", {}).get("properties", {})

    def build(
        self,
        query: Mapping[str, str],
        *,
        since_param: str | None,
        declared: frozenset[str] = frozenset(),
    ) -> list[Predicate]:
        """The predicates of `query`; `declared` names the operation's own query parameters."""
        out: list[Predicate] = []
        for param, value in query.items():
            predicate = self._one(param, value, since_param=since_param, declared=declared)
            if predicate is not None:
                out.append(predicate)
        return out

    def _one(
        self, param: str, value: str, *, since_param: str | None, declared: frozenset[str]
    ) -> Predicate | None:
        if param in RESERVED:
            return None
        if param in ("since", "updated_since") or param == since_param:
            return self._updated_since(param, value)
        special = _SPECIAL.get(param)
        if special is not None:
            return special(self, param, value)
        shape = _DATED.get(param.rsplit("_", 1)[-1]) if "_" in param else None
        base = param.rsplit("_", 1)[0]
        if shape is not None and param not in self.props:
            field = self._field(base)
            if field is not None or param in declared:
                return shape(param, value, field)
        return self._equality(ALIASES.get(param, param), param, value)

    def _field(self, base: str) -> str | None:
        """The date field a date parameter's stem names, or None: `appointment_date` of an
        eligibility check or a task's `due_at_*` name no date text of the record (a task's
        `due_date` is an object in the document)."""
        prop = self.props.get(base)
        if prop is None or prop.get("type") != "string":
            return None
        return base if value_format(base, prop) in DATED_FORMATS else None

    # --- time ------------------------------------------------------------------------------

    def _updated_since(self, param: str, value: str) -> Predicate:
        moment = parse_moment(param, value)
        zone_of = self.renderer.zone
        thresholds: dict[ZoneInfo, datetime] = {}

        def check(record: Record, meta: Meta) -> bool:
            zone = zone_of(record, meta.practice)
            bound = thresholds.get(zone)
            if bound is None:
                bound = thresholds[zone] = _instant(moment, zone)
            return meta.updated >= bound

        return check

    def _received_since(self, param: str, value: str) -> Predicate:
        bound = _naive_text(parse_moment(param, value))
        return lambda record, _meta: str(record.get("received_at") or "") >= bound

    def _occurred_since(self, param: str, value: str) -> Predicate:
        bound = _naive_text(parse_moment(param, value))
        scheduled = self.scheduled
        return lambda record, _meta: scheduled(record) >= bound

    def _date(self, param: str, value: str) -> Predicate:
        day = parse_date(param, value).isoformat()
        scheduled = self.scheduled
        return lambda record, _meta: scheduled(record)[:10] == day

    def _date_range(self, param: str, value: str) -> Predicate:
        start, end = parse_range(param, value, max_days=MAX_RANGE_DAYS.get(self.table))
        low, high = start.isoformat(), end.isoformat()
        scheduled = self.scheduled
        return lambda record, _meta: low <= scheduled(record)[:10] <= high

    def _created_at(self, param: str, value: str) -> Predicate:
        day = parse_date(param, value).isoformat()
        zone_of = self.renderer.zone
        return lambda record, meta: (
            local_text(meta.created, zone_of(record, meta.practice))[:10] == day
        )

    def scheduled(self, record: Record) -> str:
        """The local date-time a record is "on" (appointments: scheduled_time)."""
        field = SCHEDULED.get(self.table)
        if field is not None:
            return str(record.get(field) or "")
        if self.table == "clinical_notes":
            appointment = self.state.records.get("appointments", _int(record.get("appointment")))
            return str((appointment or {}).get("scheduled_time") or "")
        for name in ("date", "scheduled_time", "start_date", "created_at"):
            if record.get(name):
                return str(record[name])
        return ""

    # --- equality --------------------------------------------------------------------------

    def _equality(self, field: str, param: str, value: str) -> Predicate | None:
        if self.table == "doctors" and field == "doctor":
            field = "id"
        prop = self.props.get(field)
        if prop is None and field not in LOOSE and field != "id":
            return None
        kind = (prop or {}).get("type", "integer")
        if kind == "string" and value_format(field, prop or {}) == "date":
            day = parse_date(param, value).isoformat()
            return lambda record, _meta: str(record.get(field) or "")[:10] == day
        target = _target(kind, param, value)
        strict = prop is not None or field == "id"
        return lambda record, _meta: _matches(record, field, target, strict=strict)


_SPECIAL: dict[str, Callable[[Filters, str, str], Predicate]] = {
    "received_since": Filters._received_since,
    "occurred_since": Filters._occurred_since,
    "date": Filters._date,
    "date_range": Filters._date_range,
    "created_at": Filters._created_at,
}


def _target(kind: str, param: str, value: str) -> str:
    if kind == "integer":
        number = parse_int(value)
        if number is None:
            raise FilterError(param, INTEGER)
        return str(number)
    if kind == "boolean":
        return "true" if value.strip().lower() in ("true", "1", "yes") else "false"
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _matches(record: Record, field: str, target: str, *, strict: bool) -> bool:
    if field not in record:
        return not strict
    value = record[field]
    if isinstance(value, list):
        return any(_text(v) == target for v in value)
    return _text(value) == target


def _text_between(field: str, low: str, high: str) -> Predicate:
    return lambda record, _meta: low <= str(record.get(field) or "")[:10] <= high


# Date parameters by the end of their name. The value is always checked (400 when malformed),
# as for every other date filter; the records are filtered when they have the field, and the
# parameter is otherwise accepted and ignored like the rest of what the emulator cannot apply.
def _range_of(param: str, value: str, field: str | None) -> Predicate | None:
    start, end = parse_range(param, value)
    return _text_between(field, start.isoformat(), end.isoformat()) if field else None


def _since_of(param: str, value: str, field: str | None) -> Predicate | None:
    bound = _naive_text(parse_moment(param, value))
    return (lambda record, _meta: str(record.get(field) or "") >= bound) if field else None


def _day_of(param: str, value: str, field: str | None) -> Predicate | None:
    day = parse_date(param, value).isoformat()
    return (lambda record, _meta: str(record.get(field) or "")[:10] == day) if field else None


_DATED: dict[str, Callable[[str, str, str | None], Predicate | None]] = {
    "range": _range_of,
    "since": _since_of,
    "date": _day_of,
}


def _int(value: Any) -> int:
    number = parse_int(str(value)) if value is not None else None
    return number if number is not None else -1


def _instant(moment: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(moment, datetime):
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)
    return datetime.combine(moment, time(0), tzinfo=zone)


def _naive_text(moment: date | datetime) -> str:
    if isinstance(moment, datetime):
        return moment.replace(tzinfo=None).isoformat(timespec="seconds")
    return moment.isoformat()
