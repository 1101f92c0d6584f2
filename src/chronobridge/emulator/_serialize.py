"""Records as DrChrono puts them on the wire.

Timestamps are not stored in records: `created_at`/`updated_at` are rendered from `Meta` in the
owning doctor's time zone (the record's `doctor` → that doctor's `timezone`; otherwise the
practice's first doctor), ISO 8601 without offset, seconds precision (facts §8). Appointment ids
are JSON strings; every other id is an integer.
"""

from __future__ import annotations

import json
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
MAX_CACHED = 200_000  # records whose JSON text is kept; beyond that the cache starts over


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
        # (table, id) -> (meta.updated when rendered, {(schema, verbose): JSON text})
        self._texts: dict[tuple[str, int], tuple[datetime, dict[tuple[str | None, bool], str]]]
        self._texts = {}
        state.records.subscribe(self._forget)

    def _forget(self, change: Change) -> None:
        self._texts.pop((change.resource, change.id), None)
        if change.resource == "doctors":
            self._zones.clear()
            self._practice_zones.clear()
            self._texts.clear()  # a doctor's time zone shows in every timestamp

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
        out = dict(record)
        if not verbose:
            for name in form.verbose:
                out.pop(name, None)
        out.pop(FILES_KEY, None)
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

    def text(
        self, table: str, schema: str | None, record: Record, meta: Meta, *, verbose: bool
    ) -> str:
        """The record's JSON, cached until the record changes: list pages are mostly joins of
        these, so serving a page costs little more than copying it."""
        key = (table, record["id"])
        cached = self._texts.get(key)
        if cached is None or cached[0] != meta.updated:
            if len(self._texts) >= MAX_CACHED:
                self._texts.clear()
            cached = self._texts[key] = (meta.updated, {})
        variant = (schema, verbose)
        found = cached[1].get(variant)
        if found is None:
            found = cached[1][variant] = dumps(self.wire(schema, record, meta, verbose=verbose))
        return found


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def dumps(value: Any) -> str:
    return _ENCODER.encode(value)


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
