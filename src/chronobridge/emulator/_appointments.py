"""What DrChrono does specially when an appointment is written: default duration and the overlap
rule (409 unless `allow_overlapping=true`, facts §7)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from starlette.responses import Response

from chronobridge.emulator._call import Call
from chronobridge.emulator._http import detail, invalid, parse_int, truthy
from chronobridge.emulator._records import Record

DEFAULT_DURATION = 30  # minutes, when neither `duration` nor a `profile` gives one
OVERLAP = "Scheduled time overlaps with an existing appointment"
CANCELLED = "Cancelled"
MIN_DURATION = "Ensure this value is greater than or equal to 1."
SLOT_FIELDS = frozenset({"scheduled_time", "duration", "office", "exam_room", "status", "profile"})


def before_write(
    call: Call, values: dict[str, Any], existing: Record | None, pending: Iterable[Record]
) -> Response | None:
    """Fill defaults into `values` and refuse overlaps; None when the write may go ahead."""
    allow = truthy(call.query.get("allow_overlapping", "")) or truthy(
        values.pop("allow_overlapping", None)
    )
    merged = {**(existing or {}), **values}
    if existing is None:
        values.setdefault("status", "")
        values["deleted_flag"] = False
        if merged.get("appt_is_break") is None:
            values["appt_is_break"] = False
    if merged.get("duration") is None:
        values["duration"] = merged["duration"] = _profile_duration(call, merged.get("profile"))
    if int(merged["duration"]) < 1:
        return invalid({"duration": [MIN_DURATION]})
    checks = existing is None or bool(SLOT_FIELDS & values.keys())
    if checks and not allow and overlaps(call, merged, pending):
        return detail(OVERLAP, 409)
    return None


def _profile_duration(call: Call, profile: Any) -> int:
    profile_id = parse_int(str(profile)) if profile is not None else None
    found = call.state.records.get("appointment_profiles", profile_id) if profile_id else None
    duration = parse_int(str((found or {}).get("duration")))
    return duration if duration and duration > 0 else DEFAULT_DURATION


def span(record: Record) -> tuple[datetime, datetime] | None:
    """The appointment's local [start, end), or None when it has no usable time."""
    try:
        start = datetime.fromisoformat(str(record.get("scheduled_time")))
        minutes = int(record.get("duration") or DEFAULT_DURATION)
        return start, start + timedelta(minutes=minutes)
    except (TypeError, ValueError, OverflowError):
        return None


def overlaps(call: Call, candidate: Record, pending: Iterable[Record] = ()) -> bool:
    """Another live, non-cancelled appointment in the same office and exam room at that time."""
    if candidate.get("status") == CANCELLED:
        return False
    wanted = span(candidate)
    if wanted is None:
        return False
    office, room, own = candidate.get("office"), candidate.get("exam_room"), candidate.get("id")
    end_text = wanted[1].isoformat(timespec="seconds")
    stored = (record for record, _meta in call.state.records.scan("appointments"))
    for other in itertools.chain(stored, pending):
        if other.get("office") != office or other.get("exam_room") != room:
            continue
        if own is not None and other.get("id") == own:
            continue
        if other.get("status") == CANCELLED or str(other.get("scheduled_time")) >= end_text:
            continue
        theirs = span(other)
        if theirs is not None and theirs[0] < wanted[1] and wanted[0] < theirs[1]:
            return True
    return False
