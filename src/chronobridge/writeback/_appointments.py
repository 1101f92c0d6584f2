"""Appointments: finding one an earlier attempt booked, and the changes the CLI makes.

DrChrono has no idempotency key for creates. When a booking's answer was lost (5xx, timeout),
the next attempt lists that doctor's appointments of the day and takes the one with the same
patient, office, exam room and start time instead of booking a second.

A reschedule changes `start_time`, `end_time` (keeping the duration unless a new one is given)
and optionally `exam_room`, starting from the appointment as DrChrono holds it now (mapped
with the practice's mapping), so that the PATCH carries only those fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from chronobridge.client import DrChronoClient
from chronobridge.domain.mappings import MappingContext, apply
from chronobridge.domain.writeback import ModelChange, WriteAction
from chronobridge.errors import MappingError
from chronobridge.writeback._lookup import close_listing

__all__ = ["find_booked", "reschedule_change"]

_SAME = ("patient", "office", "exam_room")


async def find_booked(client: DrChronoClient, body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The appointment DrChrono holds with this body's patient, room and start, if any."""
    start = str(body.get("scheduled_time") or "")
    if len(start) < 16 or body.get("doctor") is None:
        return None
    listing = client.resource("appointments").list(date=start[:10], doctor=body["doctor"])
    try:
        async for appointment in listing:
            if isinstance(appointment, Mapping) and _same(appointment, body, start):
                return appointment
    finally:
        await close_listing(listing)
    return None


def _same(appointment: Mapping[str, Any], body: Mapping[str, Any], start: str) -> bool:
    if str(appointment.get("scheduled_time") or "")[:16] != start[:16]:
        return False
    return all(str(appointment.get(name)) == str(body.get(name)) for name in _SAME)


async def reschedule_change(
    client: DrChronoClient,
    *,
    mapping: Any,
    context: MappingContext,
    appointment_id: str,
    start: datetime,
    duration_minutes: int | None = None,
    exam_room: int | None = None,
    model: str = "appointment",
) -> ModelChange:
    """The update that moves appointment `appointment_id` (current values read from DrChrono)."""
    if start.utcoffset() is None:
        raise MappingError(
            f"{model}.start_time: expected a date and time with its UTC offset (rule: datetime)",
            model=model,
            field="start_time",
            rule="datetime",
        )
    record = await client.resource("appointments").get(appointment_id)
    values = dict(apply(mapping, "appointments", record, context, model=model).values)
    length = _length(values, duration_minutes)
    values["start_time"], values["end_time"] = start, start + length
    changed = {"start_time", "end_time"}
    if exam_room is not None:
        values["exam_room"] = exam_room
        changed.add("exam_room")
    return ModelChange(
        model=model,
        action=WriteAction.UPDATE,
        values=values,
        external_id=appointment_id,
        changed=frozenset(changed),
    )


def _length(values: Mapping[str, Any], minutes: int | None) -> timedelta:
    if minutes is not None:
        return timedelta(minutes=minutes)
    begin, end = values.get("start_time"), values.get("end_time")
    if isinstance(begin, datetime) and isinstance(end, datetime) and end > begin:
        return end - begin
    return timedelta(minutes=30)
