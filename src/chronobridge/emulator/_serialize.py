"""Records as DrChrono puts them on the wire.

Timestamps are not stored in records: `created_at`/`updated_at` are rendered from `Meta` in the
owning doctor's time zone (the record's `doctor` → that doctor's `timezone`; otherwise the
practice's first doctor), ISO 8601 without offset, seconds precision (facts §8). Appointment ids
are JSON strings; every other id is an integer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chronobridge.catalog import CATALOG
from chronobridge.emulator._records import Change, Meta, Record
from chronobridge.emulator._state import EmulatorState

UTC_ZONE = ZoneInfo("UTC")
FILES_KEY = "_files"  # where a record keeps upload names and sizes; never on the wire


@dataclass(frozen=True, slots=True)
class Shape:
    """What the serializer needs to know about one response schema."""

    created: bool
    updated: bool
    string_id: bool
    verbose: frozenset[str]
    deleted_flag: bool


@cache
def shape(schema: str | None) -> Shape:
    props = CATALOG.schemas.get(schema or "", {}).get("properties", {})
    id_type = props.get("id", {}).get("type")
    return Shape(
        created="created_at" in props,
        updated="updated_at" in props,
        string_id=id_type == "string",
        verbose=frozenset(CATALOG.verbose_fields(schema)),
        deleted_flag="deleted_flag" in props,
    )


def local_text(moment: datetime, zone: ZoneInfo) -> str:
    """DrChrono's timestamp text: local wall time, no offset, whole seconds."""
    return moment.astimezone(zone).replace(tzinfo=None).isoformat(timespec="seconds")


class Renderer:
    """Turns (record, meta) into the API's JSON object; caches doctors' time zones."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._zones: dict[int, ZoneInfo] = {}
        self._practice_zones: dict[int, ZoneInfo] = {}
        state.records.subscribe(self._forget_zones)

    def _forget_zones(self, change: Change) -> None:
        if change.resource == "doctors":
            self._zones.clear()
            self._practice_zones.clear()

    def zone_of_doctor(self, doctor: Any) -> ZoneInfo | None:
        try:
            doctor_id = int(doctor)
        except (TypeError, ValueError):
            return None
        zone = self._zones.get(doctor_id)
        if zone is None:
            record = self._state.records.get("doctors", doctor_id)
            if record is None:
                return None
            zone = self._zones[doctor_id] = _zone(record.get("timezone"))
        return zone

    def zone_of_practice(self, practice: int) -> ZoneInfo:
        zone = self._practice_zones.get(practice)
        if zone is None:
            first = next(
                (r for r, m in self._state.records.scan("doctors") if m.practice == practice),
                None,
            )
            zone = _zone(first.get("timezone")) if first else UTC_ZONE
            self._practice_zones[practice] = zone
        return zone

    def zone(self, record: Record, practice: int) -> ZoneInfo:
        doctor = record.get("doctor")
        if doctor is not None:
            found = self.zone_of_doctor(doctor)
            if found is not None:
                return found
        return self.zone_of_practice(practice)

    def wire(self, schema: str | None, record: Record, meta: Meta, *, verbose: bool) -> Record:
        form = shape(schema)
        if FILES_KEY in record or (form.verbose and not verbose):
            hidden = {FILES_KEY} if verbose else {FILES_KEY, *form.verbose}
            out = {k: v for k, v in record.items() if k not in hidden}
        else:
            out = dict(record)
        if form.created or form.updated:
            zone = self.zone(record, meta.practice)
            if form.created:
                out["created_at"] = local_text(meta.created, zone)
            if form.updated:
                out["updated_at"] = local_text(meta.updated, zone)
        if form.string_id:
            out["id"] = str(record["id"])
        if form.deleted_flag and meta.deleted is not None:
            out["deleted_flag"] = True
        return out


def _zone(name: Any) -> ZoneInfo:
    try:
        return ZoneInfo(str(name)) if name else UTC_ZONE
    except (ZoneInfoNotFoundError, ValueError):
        return UTC_ZONE


def webhook_serializer(state: EmulatorState) -> Callable[[str, Record], Record]:
    """`state.extensions["serializer"]`: how webhook bodies carry an object (like the REST API,
    verbose fields included)."""

    def serialize(resource: str, record: Record) -> Record:
        meta = state.records.meta(resource, int(record["id"]))
        schema = CATALOG.resources[resource].schema if resource in CATALOG.resources else None
        if meta is None:
            return dict(record)
        return renderer(state).wire(schema, record, meta, verbose=True)

    return serialize


def renderer(state: EmulatorState) -> Renderer:
    """The state's renderer (one per emulator, kept in `state.extensions`)."""
    found = state.extensions.get("rest_renderer")
    if not isinstance(found, Renderer):
        found = state.extensions["rest_renderer"] = Renderer(state)
    return found
