"""Which connection a webhook fetch reads with: one whose scopes allow it, the record's own
doctor first, then any provider, then staff."""

from __future__ import annotations

from datetime import UTC, datetime

from chronobridge.ingress._apply import choose_reader
from chronobridge.store import Connection, ConnectionStatus, Role

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _connection(
    id: int, role: Role, doctor: int, scopes: str = "patients:read", **kw: object
) -> Connection:
    return Connection(
        id=id, app_id=1, drchrono_user_id=100 + id, username=f"u{id}", role=role,
        doctor_id=doctor, status=kw.get("status", ConnectionStatus.ACTIVE),  # type: ignore[arg-type]
        scopes=tuple(scopes.split()), created_at=NOW, updated_at=NOW, last_used_at=None,
    )  # fmt: skip


def test_the_records_own_doctor_first_then_providers_then_staff() -> None:
    staff = _connection(1, Role.STAFF, 7)
    other = _connection(2, Role.DOCTOR, 8)
    own = _connection(3, Role.DOCTOR, 7)
    assert choose_reader([staff, other, own], "patients", doctor=7) == own
    assert choose_reader([staff, other, own], "patients", doctor=None) == other
    assert choose_reader([staff], "patients", doctor=7) == staff


def test_scopes_and_status_rule_connections_out() -> None:
    no_scope = _connection(1, Role.DOCTOR, 7, scopes="calendar:read")
    gone = _connection(2, Role.DOCTOR, 7, status=ConnectionStatus.NEEDS_RECONNECT)
    assert choose_reader([no_scope, gone], "patients", doctor=7) is None
    billing = _connection(3, Role.STAFF, 7, scopes="billing:read")
    assert choose_reader([no_scope, billing], "line_items") == billing
