"""Which table serves a catalog resource, and what a principal may see of it.

Some catalog resources are other views of one table (`/api/patients_summary` shows patients,
`/api/appointments_list` appointments); `/api/users` comes from the emulator's logins, not the
records. A principal only ever sees records of its own practice (`Meta.practice`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from chronobridge.catalog import Operation
from chronobridge.emulator._records import Meta, Record, Table
from chronobridge.emulator._state import EmulatorState, Principal

ALIASES: dict[str, str] = {
    "appointments_list": "appointments",
    "patients_summary": "patients",
    "lab_orders_summary": "lab_orders",
}
USERS = "users"
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_DIGITS = re.compile(r"[0-9]{1,18}")


def table_name(resource: str) -> str:
    return ALIASES.get(resource, resource)


def table(state: EmulatorState, resource: str) -> Table:
    name = table_name(resource)
    if name == USERS:
        return users_table(state)
    return state.records.table(name)


def users_table(state: EmulatorState) -> Table:
    """The logins as a read-only table, so users list and page like every other resource."""
    users = sorted(state.users.values(), key=lambda u: u.id)
    return Table(
        rows={u.id: u.wire() for u in users},
        meta={u.id: Meta(created=_EPOCH, updated=_EPOCH, practice=u.practice_group) for u in users},
        order=[u.id for u in users],
        next_id=users[-1].id + 1 if users else 1,
    )


def parse_id(raw: str | None) -> int | None:
    """A path id: ASCII digits only (an appointment's string id is digits too)."""
    if raw is None or not _DIGITS.fullmatch(raw):
        return None
    return int(raw)


def visible(
    state: EmulatorState,
    principal: Principal,
    resource: str,
    record_id: int | None,
    *,
    include_deleted: bool = False,
) -> tuple[Record, Meta] | None:
    """The record if it exists, is not deleted and belongs to the principal's practice."""
    if record_id is None:
        return None
    source = table(state, resource)
    meta = source.meta.get(record_id)
    if meta is None or meta.practice != principal.user.practice_group:
        return None
    if meta.deleted is not None and not include_deleted:
        return None
    return source.rows[record_id], meta


def item(
    state: EmulatorState, principal: Principal, op: Operation, raw_id: str | None
) -> tuple[Record, Meta] | None:
    return visible(state, principal, op.resource, parse_id(raw_id))
