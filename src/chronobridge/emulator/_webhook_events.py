"""Which of DrChrono's 27 webhook events a record change fires (facts §5, CATALOG.events).

Most events follow from (resource, created|updated|deleted). The rest depend on what changed:
locking a clinical note, attaching or editing a patient flag, and any change to a task's notes
(which DrChrono reports as TASK_MODIFY of the task).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chronobridge.catalog import CATALOG
from chronobridge.emulator._records import Change, Record, RecordStore
from chronobridge.emulator._state import EmulatorState

FLAG_FIELD = "patient_flags_attached"
FLAG_CREATE = "PATIENT_FLAG_CREATE"
FLAG_MODIFY = "PATIENT_FLAG_CMODIFY"
DERIVED = frozenset({FLAG_CREATE, FLAG_MODIFY})  # not fired by the kind of change alone

_BY_CHANGE: dict[tuple[str, str], tuple[str, ...]] = {}
for _event in CATALOG.events:
    if _event.name not in DERIVED:
        key = (_event.resource, _event.change)
        _BY_CHANGE[key] = (*_BY_CHANGE.get(key, ()), _event.name)


@dataclass(frozen=True, slots=True, kw_only=True)
class Fired:
    """One event to deliver: its name and the object it carries."""

    event: str
    resource: str
    id: int
    record: Record


def events_for(change: Change, records: RecordStore) -> list[Fired]:
    if change.resource == "task_notes":
        return _task_note(change, records)
    names = list(_BY_CHANGE.get((change.resource, change.kind), ()))
    if change.resource == "clinical_notes" and change.kind == "updated":
        names += _lock_events(change.previous or {}, change.record)
    if change.resource == "patients" and change.kind == "updated":
        names += _flag_events(change.previous or {}, change.record)
    return [
        Fired(event=name, resource=change.resource, id=change.id, record=change.record)
        for name in names
    ]


def _lock_events(previous: Record, record: Record) -> list[str]:
    was, now = bool(previous.get("locked")), bool(record.get("locked"))
    if now and not was:
        return ["CLINICAL_NOTE_LOCK"]
    if was and not now:
        return ["CLINICAL_NOTE_UNLOCK"]
    return []


def _flag_events(previous: Record, record: Record) -> list[str]:
    before = _flags(previous)
    after = _flags(record)
    names: list[str] = []
    if set(after) - set(before):
        names.append(FLAG_CREATE)
    if any(after[key] != before[key] for key in set(after) & set(before)):
        names.append(FLAG_MODIFY)
    return names


def _flags(record: Record) -> dict[Any, Any]:
    flags = record.get(FLAG_FIELD) or []
    out: dict[Any, Any] = {}
    for index, flag in enumerate(flags):
        key = flag.get("id", f"#{index}") if isinstance(flag, dict) else f"#{index}"
        out[key] = flag
    return out


def _task_note(change: Change, records: RecordStore) -> list[Fired]:
    task_id = change.record.get("task")
    if not isinstance(task_id, int):
        return []
    task = records.get("tasks", task_id)
    if task is None:
        return []
    return [Fired(event="TASK_MODIFY", resource="tasks", id=task_id, record=task)]


def render_object(
    state: EmulatorState, resource: str, record_id: int, record: Record
) -> dict[str, Any]:
    """The REST serializer when `_rest` has registered one (`extensions["serializer"]`, called
    with the resource name and the record); otherwise the stored fields with UTC timestamps."""
    serializer = state.extensions.get("serializer")
    if callable(serializer):
        # A webhook body must never fail the REST call that changed the record.
        with contextlib.suppress(Exception):
            rendered: dict[str, Any] = serializer(resource, record)
            return rendered
    meta = state.records.meta(resource, record_id)
    stamps = {"created_at": meta.created, "updated_at": meta.updated} if meta else {}
    out = {**{k: _naive(v) for k, v in stamps.items()}, **record}
    if resource in CATALOG.resources and CATALOG.resource(resource).id_type == "string":
        out["id"] = str(record_id)  # appointment ids are JSON strings (facts §8)
    return {k: v for k, v in out.items() if not k.startswith("_")}


def _naive(when: datetime) -> str:
    return when.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
