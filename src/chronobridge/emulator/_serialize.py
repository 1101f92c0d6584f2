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

import orjson

from chronobridge.catalog import CATALOG, Kind
from chronobridge.emulator._records import Change, Meta, Record
from chronobridge.emulator._state import EmulatorState
from chronobridge.emulator._tables import ALIASES, USERS

UTC_ZONE = ZoneInfo("UTC")
FILES_KEY = "_files"  # where a record keeps upload names and sizes; never on the wire
MAX_CACHED = 200_000  # records whose JSON text is kept; beyond that the cache starts over
PRERENDER_SETTING = "prerender"  # EmulatorConfig.extra: "0" leaves every record unrendered


@dataclass(frozen=True, slots=True)
class Shape:
    """What the serializer needs to know about one response schema."""

    created: bool
    updated: bool
    string_id: bool
    verbose: frozenset[str]
    deleted_flag: bool
    hidden: frozenset[str]  # keys never sent: FILES_KEY
    hidden_plain: frozenset[str]  # keys sent only with verbose=true, plus FILES_KEY


@cache
def shape(schema: str | None) -> Shape:
    props = CATALOG.schemas.get(schema or "", {}).get("properties", {})
    id_type = props.get("id", {}).get("type")
    verbose = frozenset(CATALOG.verbose_fields(schema))
    return Shape(
        created="created_at" in props,
        updated="updated_at" in props,
        string_id=id_type == "string",
        verbose=verbose,
        deleted_flag="deleted_flag" in props,
        hidden=frozenset({FILES_KEY}),
        hidden_plain=verbose | {FILES_KEY},
    )


def local_text(moment: datetime, zone: ZoneInfo) -> str:
    """DrChrono's timestamp text: local wall time, no offset, whole seconds."""
    # The first 19 characters of isoformat() are "YYYY-MM-DDTHH:MM:SS" whatever follows
    # (microseconds, offset); slicing is twice as fast as replace() plus timespec.
    return moment.astimezone(zone).isoformat()[:19]


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
        out = record.copy()  # a C-level copy, then a few pops: cheaper than filtering each key
        for name in form.hidden if verbose else form.hidden_plain:
            out.pop(name, None)
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


def dumps(value: Any) -> str:
    """Compact JSON, as DRF's renderer writes it. orjson is several times faster than the
    standard library on records; what it refuses (integers beyond 64 bits, non-string keys,
    lone surrogates) goes through `json` instead. A float in exponent form is written `1e16`
    rather than `1e+16`: the same number. Text, not bytes: thousands of cached small bytes
    objects cost more to allocate than their decoded strings."""
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):
        return _ENCODER.encode(value)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


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


def prerender(state: EmulatorState) -> int:
    """Render every live record the way a list page shows it (not verbose) and keep the text,
    so that the first walk over a freshly seeded or loaded emulator (a hub's backfill) is served
    from the cache rather than rendering as it goes. Returns how many records were rendered.
    It costs a fraction of the seed's time; `extra={"prerender": "0"}` turns it off."""
    if state.config.extra.get(PRERENDER_SETTING, "1") == "0":
        return 0
    render, count = renderer(state).text, 0
    for table, schema in _list_views():
        source = state.records.table(table)
        for record_id in source.order:
            meta = source.meta[record_id]
            if meta.deleted is None and count < MAX_CACHED:
                render(table, schema, source.rows[record_id], meta, verbose=False)
                count += 1
    return count


@cache
def _list_views() -> tuple[tuple[str, str | None], ...]:
    """(table, schema) of every list that reads its own table (not an alias, not the users)."""
    return tuple(
        (op.resource, op.schema)
        for op in CATALOG.operations
        if op.kind is Kind.LIST and op.resource not in ALIASES and op.resource != USERS
    )
