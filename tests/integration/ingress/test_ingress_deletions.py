"""A DELETE delivery is a claim the hub checks, and a deletion the store got wrong is undone.

- A DELETE for a record DrChrono still serves deletes nothing: the job fetches it at webhook
  priority and ingests what it finds. In `secret` signature mode the header is the shared
  secret, so anyone who saw one delivery can sign one: this is what such a forgery costs.
- A record the store marked deleted by mistake (here DrChrono answers 404 for a moment, a
  glitch) comes back with the next reconciliation, at the same version, with one change event
  that the version's first event does not swallow; a later real deletion still has its own.
"""

from __future__ import annotations

import json

import httpx2
import pytest

from chronobridge.store import KeyRing
from support.ingress import HOOK, signed_headers
from support.webhook_stack import Stack, webhook_stack

pytestmark = pytest.mark.parametrize("db_kind", ["sqlite"])
FINAL = "status IN ('done', 'duplicate', 'failed')"


def _send(stack: Stack, event: str, object_id: int, delivery_id: str) -> httpx2.Response:
    """Signed as DrChrono documents it: the header is the shared secret itself."""
    body = json.dumps({"receiver": {"id": 1}, "object": {"id": object_id}}).encode()
    headers = signed_headers(body, event=event, delivery_id=delivery_id, mode="secret")
    return stack.http.post(stack.hub_url + HOOK, content=body, headers=headers)


def _deliver(stack: Stack, event: str, object_id: int, delivery_id: str) -> str:
    """Send, wait until processed; the delivery's final status."""
    assert _send(stack, event, object_id, delivery_id).status_code == 200
    where = f"delivery_id = '{delivery_id}' AND {FINAL}"
    stack.wait(lambda: stack.count("webhook_deliveries", where))
    return str(stack.scalar(f"SELECT status FROM webhook_deliveries WHERE {where}"))  # noqa: S608


def _appointment(stack: Stack) -> int:
    listed = stack.api("GET", "/api/appointments?page_size=1&since=2000-01-01")
    return int(listed["results"][0]["id"])


def _kinds(stack: Stack, appointment: int) -> list[str]:
    query = (
        "SELECT kind FROM change_events WHERE resource = 'appointments' "  # noqa: S608
        f"AND external_id = '{appointment}' ORDER BY id"
    )
    return [row[0] for row in stack.rows(query)]


def test_a_forged_delete_for_a_live_record_deletes_nothing(
    database_url: str, keyring: KeyRing
) -> None:
    with webhook_stack(database_url, keyring) as stack:
        appointment = _appointment(stack)
        assert _deliver(stack, "APPOINTMENT_MODIFY", appointment, "seen") == "done"
        assert _deliver(stack, "APPOINTMENT_DELETE", appointment, "forged") == "duplicate"
        where = f"resource = 'appointments' AND external_id = '{appointment}'"
        assert stack.count("records", where + " AND deleted_at IS NULL") == 1
        assert _kinds(stack, appointment) == ["updated"]
        # Each delivery cost one read of the appointment, at webhook priority.
        reads = stack.rows(
            "SELECT priority, status FROM api_calls WHERE operation = 'appointments_read'"
        )
        assert reads == [("webhook", 200), ("webhook", 200)]


def test_a_wrong_deletion_is_undone_by_one_reconciliation(
    database_url: str, keyring: KeyRing
) -> None:
    with webhook_stack(database_url, keyring) as stack:
        stack.reconcile(["appointments"])  # in step with the emulator
        appointment = _appointment(stack)
        meta = stack.emulator_state.records.table("appointments").meta[appointment]
        meta.deleted = stack.emulator_state.clock.now()  # DrChrono answers 404 for a moment
        assert _deliver(stack, "APPOINTMENT_DELETE", appointment, "glitch") == "done"
        meta.deleted = None  # it was never gone
        where = f"resource = 'appointments' AND external_id = '{appointment}'"
        assert stack.count("records", where + " AND deleted_at IS NOT NULL") == 1

        [result] = stack.reconcile(["appointments"])

        listed = stack.listed("appointments")
        assert stack.stored("appointments") == {key: value[0] for key, value in listed.items()}
        assert result.only_here == 1  # the restore, and nothing else
        assert _kinds(stack, appointment) == ["created", "deleted", "updated"]
        # A deletion for real, later (the emulator sends its webhook): its own event.
        stack.emulator_state.records.delete("appointments", appointment)
        stack.wait(lambda: _kinds(stack, appointment)[-1] == "deleted")
        assert _kinds(stack, appointment) == ["created", "deleted", "updated", "deleted"]
        assert stack.count("records", where + " AND deleted_at IS NOT NULL") == 1
        keys = stack.rows("SELECT dedupe_key FROM change_events")
        assert len(keys) == len(set(keys))
