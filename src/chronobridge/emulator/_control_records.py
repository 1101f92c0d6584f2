"""Control API: records changed the way DrChrono's staff change them in the web UI.

    PATCH  /_emulator/records/{resource}/{id}   {"field": value, ...}  → the changed record
    DELETE /_emulator/records/{resource}/{id}                          → what was deleted

The REST API cannot delete tasks, patient payments or transactions, nor edit clinical notes, yet
DrChrono fires TASK_DELETE, CASH_PAYMENT_DELETE, LINE_ITEM_TRANSACTION_DELETE and the
clinical-note LOCK/UNLOCK events when staff do these things in the UI. These endpoints do them
through the record store like any other change, so each of the 27 events can be produced from
outside the process (the webhooks follow from the change, as for churn: no application made it).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from chronobridge.catalog import CATALOG
from chronobridge.emulator._control_input import ControlError, as_object
from chronobridge.emulator._records import Record
from chronobridge.emulator._state import EmulatorState
from chronobridge.emulator._tables import USERS, parse_id, table_name

FIXED = frozenset({"id", "created_at", "updated_at"})  # kept by the store, never edited


def patch_record(state: EmulatorState, call: Any) -> Response:
    table, record_id, record = _found(state, call.path)
    changes = as_object(call.raw)
    allowed = _editable(table, record)
    unknown = sorted(name for name in changes if name not in allowed)
    if unknown:
        raise ControlError(f"{table} has no editable field {unknown[0]!r}")
    if changes:
        state.records.update(table, record_id, changes)
    return JSONResponse({"resource": table, "kind": "updated", "id": record_id})


def delete_record(state: EmulatorState, call: Any) -> Response:
    table, record_id, _record = _found(state, call.path)
    state.records.delete(table, record_id)
    return JSONResponse({"resource": table, "kind": "deleted", "id": record_id})


def _found(state: EmulatorState, path: dict[str, str]) -> tuple[str, int, Record]:
    """The live record named by the path, or 404 naming what is missing."""
    resource = path["resource"]
    if resource not in CATALOG.resources or resource == USERS:
        raise ControlError(f"no resource {resource!r} has records", 404)
    table, record_id = table_name(resource), parse_id(path["id"])
    record = state.records.get(table, record_id) if record_id is not None else None
    if record is None or record_id is None:
        raise ControlError(f"no live {table} record {path['id']!r}", 404)
    return table, record_id, record


def _editable(table: str, record: Record) -> set[str]:
    """The fields of the resource's schema plus those the record carries (clinical notes keep
    `locked`, which the document's schema lacks); never the id or the timestamps, nor the
    emulator's own `_` keys."""
    schema = CATALOG.resource(table).schema if table in CATALOG.resources else None
    props = CATALOG.schemas.get(schema or "", {}).get("properties", {})
    names = set(props) | set(record)
    return {name for name in names if name not in FIXED and not name.startswith("_")}


TABLE: list[tuple[str, str, Any]] = [
    ("PATCH", "/_emulator/records/{resource}/{id}", patch_record),
    ("DELETE", "/_emulator/records/{resource}/{id}", delete_record),
]
