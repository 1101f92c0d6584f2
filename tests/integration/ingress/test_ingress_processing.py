"""Processing on real sockets: the emulator's changes reach the store through webhooks (the job
fetches the current object at webhook priority and upserts it through the sync engine), one
change event per change however often it is delivered (WH-6), whatever the arrival order
(WH-7), deletions recorded, a poison delivery failing alone (WH-15)."""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import httpx2
import pytest

from chronobridge.ingress import processing_from_settings
from chronobridge.settings import Settings
from chronobridge.store import KeyRing
from support.ingress import HOOK, SECRET, signed_headers
from support.webhook_stack import Stack, webhook_stack

SQLITE = pytest.mark.parametrize("db_kind", ["sqlite"])
FINAL = "status IN ('done', 'duplicate', 'failed')"


def _delivered(stack: Stack) -> int:
    """Deliveries the emulator has sent and seen acknowledged."""
    log = stack.emulator("GET", "/_emulator/webhooks/demo-client-id/deliveries?status=delivered")
    return len(log if isinstance(log, list) else log["deliveries"])


def _send(stack: Stack, event: str, object_id: object, delivery_id: str) -> httpx2.Response:
    body = json.dumps({"receiver": {"id": 1}, "object": {"id": object_id}}).encode()
    headers = signed_headers(body, event=event, delivery_id=delivery_id)
    return stack.http.post(stack.hub_url + HOOK, content=body, headers=headers)


def _a_patient(stack: Stack) -> int:
    return int(stack.api("GET", "/api/patients?page_size=1")["results"][0]["id"])


@pytest.mark.parametrize(
    "db_kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_change_in_the_emulator_reaches_the_store_through_its_webhook(
    database_url: str, keyring: KeyRing
) -> None:
    with webhook_stack(database_url, keyring) as stack:
        [change] = stack.emulator("POST", "/_emulator/churn", {"changes": 1})["changes"]
        stack.wait(lambda: stack.count("webhook_deliveries", FINAL) >= 1)
        rows = stack.rows("SELECT status, resource, object_id, attempts FROM webhook_deliveries")
        assert {(r[0], r[3]) for r in rows} <= {("done", 1), ("duplicate", 1)}
        assert (change["resource"], str(change["id"])) in {(r[1], r[2]) for r in rows}
        events = stack.rows("SELECT resource, external_id, source FROM change_events")
        assert (change["resource"], str(change["id"]), "webhook") in events
        assert stack.count("records", f"external_id = '{change['id']}'") == 1


@SQLITE
def test_churn_with_duplicated_and_delayed_deliveries_has_one_event_per_change(
    database_url: str, keyring: KeyRing
) -> None:
    with webhook_stack(database_url, keyring) as stack:
        stack.emulator("POST", "/_emulator/faults", {"faults": [
            {"kind": "duplicate", "probability": 0.3},
            {"kind": "delay", "delay": 0.4, "probability": 0.3},
        ]})  # fmt: skip
        changes = stack.emulator("POST", "/_emulator/churn", {"changes": 40})["changes"]
        stack.wait(lambda: _delivered(stack) and stack.count("webhook_deliveries", FINAL)
                   == stack.count("webhook_deliveries"), within=60)  # fmt: skip
        time.sleep(1.0)  # late (delayed) deliveries
        stack.wait(lambda: stack.count("webhook_deliveries", FINAL)
                   == stack.count("webhook_deliveries"), within=60)  # fmt: skip
        assert stack.count("webhook_deliveries", "status = 'failed'") == 0
        events = stack.rows("SELECT resource, external_id, kind, updated_at FROM change_events")
        assert len(events) == len(set(events))
        keys = stack.rows("SELECT dedupe_key FROM change_events")
        assert len(keys) == len(set(keys))
        changed = {(c["resource"], str(c["id"])) for c in changes}
        stored = {(r[0], r[1]) for r in stack.rows("SELECT resource, external_id FROM records")}
        reported = {(c[0], c[1]) for c in events}
        webhook_resources = {c[0] for c in reported}
        assert {c for c in changed if c[0] in webhook_resources} <= stored
        names = {r[0] for r in stack.rows("SELECT DISTINCT event FROM webhook_deliveries")}
        assert len(names) >= 5, names


@SQLITE
def test_one_delivery_sent_150_times_has_one_effect(database_url: str, keyring: KeyRing) -> None:
    with webhook_stack(database_url, keyring) as stack:
        patient = _a_patient(stack)
        sequential = [
            _send(stack, "PATIENT_MODIFY", patient, "once").status_code for _ in range(100)
        ]
        with ThreadPoolExecutor(50) as pool:
            together = list(
                pool.map(lambda _: _send(stack, "PATIENT_MODIFY", patient, "once"), range(50))
            )
        assert set(sequential) == {200}
        assert {answer.status_code for answer in together} == {200}
        stack.wait(lambda: stack.count("webhook_deliveries", FINAL) == 1)
        time.sleep(0.5)  # a second run, if there were one, would show by now
        [(status, attempts, repeats, changes)] = stack.rows(
            "SELECT status, attempts, repeats, changes FROM webhook_deliveries"
        )
        assert (status, attempts, repeats, changes) == ("done", 1, 149, 1)
        assert stack.count("workflow_status", "name = 'chronobridge.webhooks.process'") == 1
        assert stack.count("change_events", f"external_id = '{patient}'") == 1
        # A new delivery id for the same unchanged object: processed, no second effect.
        assert _send(stack, "PATIENT_MODIFY", patient, "another").status_code == 200
        stack.wait(lambda: stack.count("webhook_deliveries", FINAL) == 2)
        assert (
            stack.count("webhook_deliveries", "delivery_id = 'another' AND status = 'duplicate'")
            == 1
        )
        assert stack.count("change_events", f"external_id = '{patient}'") == 1


@SQLITE
def test_deletions_are_recorded(database_url: str, keyring: KeyRing) -> None:
    with webhook_stack(database_url, keyring) as stack:
        listed = stack.api("GET", "/api/appointments?page_size=1&since=2000-01-01")
        appointment = listed["results"][0]["id"]
        assert _send(stack, "APPOINTMENT_MODIFY", appointment, "before").status_code == 200
        stack.wait(lambda: stack.count("webhook_deliveries", FINAL) == 1)
        stack.api("DELETE", f"/api/appointments/{appointment}")
        stack.wait(
            lambda: stack.count("webhook_deliveries", "event = 'APPOINTMENT_DELETE' AND " + FINAL)
        )
        where = f"resource = 'appointments' AND external_id = '{appointment}'"
        assert stack.count("records", where + " AND deleted_at IS NOT NULL") == 1
        assert stack.count("change_events", where + " AND kind = 'deleted'") == 1
        # A change announced for an object that is gone by the time the job fetches it.
        assert _send(stack, "PATIENT_MODIFY", 987654321, "gone").status_code == 200
        stack.wait(lambda: stack.count("webhook_deliveries", "delivery_id = 'gone' AND " + FINAL))
        kinds = stack.rows("SELECT kind FROM change_events WHERE external_id = '987654321'")
        assert kinds == [("deleted",)]


@SQLITE
def test_a_poison_delivery_fails_alone(
    database_url: str, keyring: KeyRing, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = Settings(
        database_url=database_url,
        encryption_keys=",".join(key.decode() for key in keyring.keys),
    )
    fast = processing_from_settings(settings, attempts=3, retry_seconds=0.05)
    with webhook_stack(database_url, keyring, processing=fast) as stack:
        patients = [p["id"] for p in stack.api("GET", "/api/patients?page_size=8")["results"]]
        poison, healthy = patients[0], patients[1:]
        stack.emulator("POST", "/_emulator/faults", {
            "kind": "error", "status": 500, "path": f"/api/patients/{poison}", "probability": 1.0,
        })  # fmt: skip
        assert _send(stack, "PATIENT_MODIFY", poison, "poison").status_code == 200
        for n, patient in enumerate(healthy):
            assert _send(stack, "PATIENT_MODIFY", patient, f"ok-{n}").status_code == 200
        stack.wait(lambda: stack.count("webhook_deliveries", FINAL) == len(patients))
        [(status, attempts, error)] = stack.rows(
            "SELECT status, attempts, error_class FROM webhook_deliveries "
            "WHERE delivery_id = 'poison'"
        )
        assert (status, attempts, error) == ("failed", 3, "ServerError")
        assert stack.count("webhook_deliveries", "status = 'done'") == len(healthy)
    assert "failed after 3 attempts: ServerError" in caplog.text
    assert SECRET not in caplog.text
