"""Webhooks as DrChrono sends them: handshake, signed deliveries, retries on the emulator clock,
delivery faults, ping, redelivery and the log. Receivers listen on real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from chronobridge.emulator import EmulatorConfig
from chronobridge.emulator._config import DEFAULT_CLIENT_ID
from chronobridge.emulator._seed import MAIN_PRACTICE, OTHER_PRACTICE
from support.emulator_harness import Emulator, Receiver, emulator, eventually, receiver

SECRET = "hook-secret"
HOOKS = f"/_emulator/webhooks/{DEFAULT_CLIENT_ID}"


@dataclass
class Hooked:
    emu: Emulator
    receiver: Receiver
    url: str
    auth: dict[str, str]

    def create(self, resource: str, fields: dict[str, Any], practice: int = MAIN_PRACTICE) -> int:
        return int(self.emu.state.records.create(resource, fields, practice=practice)["id"])

    async def log(self, **query: str) -> list[dict[str, Any]]:
        answer = await self.emu.client.get(f"{HOOKS}/deliveries", params=query)
        deliveries: list[dict[str, Any]] = answer.json()["deliveries"]
        return deliveries


@contextlib.asynccontextmanager
async def hooked(
    config: EmulatorConfig | None = None, **registration: Any
) -> AsyncIterator[Hooked]:
    with receiver(SECRET) as (found, url):
        async with emulator(config) as emu:
            token = await emu.client.post(
                "/_emulator/oauth/token", json={"client_id": DEFAULT_CLIENT_ID, "user": "doctor1"}
            )
            auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
            answer = await emu.client.put(
                HOOKS, json={"url": url, "secret": SECRET, **registration}
            )
            assert answer.json()["verified"] is True, answer.text
            yield Hooked(emu, found, url, auth)


async def test_handshake_with_a_wrong_answer_leaves_the_webhook_unverified_and_silent() -> None:
    with receiver("another-secret") as (found, url):
        async with emulator() as emu:
            await emu.client.post(
                "/_emulator/oauth/token", json={"client_id": DEFAULT_CLIENT_ID, "user": "doctor1"}
            )
            answer = (await emu.client.put(HOOKS, json={"url": url, "secret": SECRET})).json()
            assert answer["verified"] is False
            assert answer["verification"]["reason"] == "wrong secret_token"
            assert "secret" not in answer
            assert len(found.handshakes) == 1
            emu.state.records.create("patients", {"first_name": "X"}, practice=MAIN_PRACTICE)
            found.answer_secret = SECRET
            again = await emu.client.post(f"{HOOKS}/verify")
            assert again.json()["verified"] is True
            emu.state.records.create("patients", {"first_name": "Y"}, practice=MAIN_PRACTICE)
            await eventually(lambda: found.posts)
            assert found.events() == ["PATIENT_CREATE"]


async def test_unreachable_callback_is_not_verified() -> None:
    async with emulator() as emu:
        spec = {"url": "http://127.0.0.1:9/hook", "secret": SECRET, "timeout": 1}
        answer = (await emu.client.put(HOOKS, json=spec)).json()
        assert answer["verified"] is False
        assert answer["verification"]["reason"].startswith("connection failed")


async def test_a_url_change_runs_the_handshake_again() -> None:
    async with hooked() as hook:
        assert len(hook.receiver.handshakes) == 1
        await hook.emu.client.put(HOOKS, json={"events": ["PATIENT_CREATE"]})
        assert len(hook.receiver.handshakes) == 1
        await hook.emu.client.put(HOOKS, json={"url": hook.url + "?v=2"})
        assert len(hook.receiver.handshakes) == 2


async def test_rest_changes_are_delivered_signed_with_the_shared_secret() -> None:
    async with hooked() as hook:
        doctor = hook.emu.state.user_by_name("doctor1")
        assert doctor is not None
        fields = {"first_name": "Hook", "last_name": "Test", "gender": "Female"}
        created = await hook.emu.client.post(
            "/api/patients", headers=hook.auth, json={**fields, "doctor": doctor.doctor}
        )
        assert created.status_code == 201, created.text
        post = (await eventually(lambda: hook.receiver.posts))[0]
        assert post.headers["x-drchrono-event"] == "PATIENT_CREATE"
        assert post.headers["x-drchrono-signature"] == SECRET
        assert post.headers["content-type"] == "application/json"
        body = json.loads(post.body)
        assert "secret" not in body["receiver"]
        assert body["receiver"]["url"] == hook.url
        assert body["object"]["id"] == created.json()["id"]
        assert body["object"]["first_name"] == "Hook"
        [entry] = await hook.log()
        assert entry["id"] == post.headers["x-drchrono-delivery"]
        assert entry["status"] == "delivered"


async def test_hmac_mode_signs_the_raw_body() -> None:
    async with hooked(signature="hmac") as hook:
        hook.create("tasks", {"title": "Call back", "status": None})
        post = (await eventually(lambda: hook.receiver.posts))[0]
        expected = hmac.new(SECRET.encode(), post.body, hashlib.sha256).hexdigest()
        assert post.headers["x-drchrono-signature"] == expected


async def test_event_mapping_follows_drchronos_table() -> None:
    async with hooked() as hook:
        records = hook.emu.state.records
        patient = hook.create("patients", {"first_name": "A", "patient_flags_attached": []})
        records.update("patients", patient, {"patient_flags_attached": [{"id": 1, "text": "x"}]})
        records.update("patients", patient, {"patient_flags_attached": [{"id": 1, "text": "y"}]})
        note = hook.create("clinical_notes", {"patient": patient, "locked": False})
        records.update("clinical_notes", note, {"locked": True})
        records.update("clinical_notes", note, {"locked": False})
        task = hook.create("tasks", {"title": "T", "status": None})
        hook.create("task_notes", {"task": task, "text": "n"})
        hook.create("patient_vaccine_records", {"patient": patient, "name": "Flu"})
        records.delete("patients", patient)
        expected = [
            "PATIENT_CREATE",
            *("PATIENT_MODIFY", "PATIENT_FLAG_CREATE"),
            *("PATIENT_MODIFY", "PATIENT_FLAG_CMODIFY"),
            *("CLINICAL_NOTE_LOCK", "CLINICAL_NOTE_UNLOCK"),
            *("TASK_CREATE", "TASK_MODIFY", "VACCINE_ADMINISTERED"),
        ]
        await eventually(lambda: len(hook.receiver.posts) >= len(expected))
        await asyncio.sleep(0.2)  # nothing else (no event for a deleted patient) arrives
        assert sorted(hook.receiver.events()) == sorted(expected)


async def test_only_subscribed_events_and_authorized_practices_are_delivered() -> None:
    async with hooked(events=["TASK_CREATE"]) as hook:
        hook.create("patients", {"first_name": "A"})
        hook.create("tasks", {"title": "elsewhere"}, practice=OTHER_PRACTICE)
        hook.create("tasks", {"title": "here"})
        await eventually(lambda: hook.receiver.posts)
        await asyncio.sleep(0.2)
        assert hook.receiver.events() == ["TASK_CREATE"]
        assert json.loads(hook.receiver.posts[0].body)["object"]["title"] == "here"


def delivery(hook: Hooked, delivery_id: str) -> Any:
    return hook.emu.state.extensions["webhooks"].deliveries[delivery_id]


async def test_failures_are_retried_at_one_three_and_seven_hours_then_never() -> None:
    async with hooked() as hook:
        hook.receiver.status = 500
        hook.create("tasks", {"title": "T"})
        await eventually(lambda: len(hook.receiver.posts) == 1)
        delivery_id = hook.receiver.posts[0].headers["x-drchrono-delivery"]
        await eventually(lambda: delivery(hook, delivery_id).status == "retrying")
        seen = 1
        for hours in (1, 2, 4):  # +1 h, +3 h, +7 h after the event
            await hook.emu.client.post("/_emulator/clock", json={"advance": hours * 3600 - 60})
            await asyncio.sleep(0.3)
            assert len(hook.receiver.posts) == seen  # not due yet
            await hook.emu.client.post("/_emulator/clock", json={"advance": 60})
            seen += 1
            await eventually(lambda n=seen: len(hook.receiver.posts) == n)
        await eventually(lambda: delivery(hook, delivery_id).status == "failed")
        await hook.emu.client.post("/_emulator/clock", json={"advance": 48 * 3600})
        await asyncio.sleep(0.3)
        assert len(hook.receiver.posts) == 4
        assert {p.headers["x-drchrono-delivery"] for p in hook.receiver.posts} == {delivery_id}
        [entry] = await hook.log()
        assert [a["kind"] for a in entry["attempts"]] == ["original", "retry", "retry", "retry"]
        assert all(a["status"] == 500 for a in entry["attempts"])
        hook.receiver.status = 204
        await hook.emu.client.post(f"{HOOKS}/deliveries/{delivery_id}/redeliver")
        await eventually(lambda: delivery(hook, delivery_id).status == "delivered")
        assert hook.receiver.posts[-1].headers["x-drchrono-delivery"] == delivery_id
        latest = (await hook.emu.client.get(f"{HOOKS}/deliveries/{delivery_id}")).json()
        assert latest["attempts"][-1]["kind"] == "redeliver"
        assert latest["attempts"][-1]["latency_ms"] >= 0


async def test_a_redirect_or_a_timeout_is_a_failure() -> None:
    async with hooked(timeout=0.5) as hook:
        hook.receiver.status = 302
        hook.create("tasks", {"title": "moved"})
        await eventually(lambda: hook.receiver.posts)
        delivery_id = hook.receiver.posts[0].headers["x-drchrono-delivery"]
        await eventually(lambda: delivery(hook, delivery_id).status == "retrying")
        hook.receiver.status, hook.receiver.delay = 200, 1.5
        hook.create("tasks", {"title": "slow"})
        await eventually(lambda: len(hook.receiver.posts) == 2)
        slow_id = hook.receiver.posts[1].headers["x-drchrono-delivery"]
        await eventually(lambda: delivery(hook, slow_id).attempts)
        assert delivery(hook, slow_id).attempts[0].error == "timeout"


async def test_deliveries_never_hold_up_the_rest_request() -> None:
    async with hooked() as hook:
        hook.receiver.delay = 1.5
        status = hook.emu.state.records.table("task_statuses").order[0]  # a real task status
        started = time.perf_counter()
        answer = await hook.emu.client.post(
            "/api/tasks", headers=hook.auth, json={"title": "Quick", "status": status}
        )
        assert answer.status_code == 201, answer.text
        assert time.perf_counter() - started < 1.0
        await eventually(lambda: hook.receiver.posts)


async def test_duplicate_drop_and_delay_faults() -> None:
    async with hooked() as hook:
        client = hook.emu.client
        await client.post("/_emulator/faults", json={"kind": "duplicate", "count": 1})
        hook.create("tasks", {"title": "twice"})
        await eventually(lambda: len(hook.receiver.posts) == 2)
        first, second = hook.receiver.posts
        assert first.headers["x-drchrono-delivery"] == second.headers["x-drchrono-delivery"]
        assert first.body == second.body
        await client.post("/_emulator/faults", json={"kind": "drop", "count": 1})
        dropped = hook.create("tasks", {"title": "never"})
        log = hook.emu.state.extensions["webhooks"].deliveries
        entries = await eventually(
            lambda: [e for e in log.values() if e.object_id == dropped and e.attempts]
        )
        assert entries[0].status == "delivered"
        assert entries[0].attempts[0].fault == "drop"
        await client.post("/_emulator/faults", json={"kind": "delay", "count": 1, "delay": 0.6})
        started = time.perf_counter()
        hook.create("tasks", {"title": "late"})
        await eventually(lambda: len(hook.receiver.posts) == 3)
        assert time.perf_counter() - started >= 0.6
        assert "never" not in b"".join(p.body for p in hook.receiver.posts).decode()


async def test_ping_and_the_delivery_log() -> None:
    async with hooked() as hook:
        answer = await hook.emu.client.post(f"{HOOKS}/ping")
        assert answer.status_code == 202
        await eventually(lambda: hook.receiver.posts)
        assert hook.receiver.events() == ["PING"]
        assert json.loads(hook.receiver.posts[0].body)["object"] == {}
        hook.create("tasks", {"title": "logged"})
        await eventually(lambda: len(hook.receiver.posts) == 2)
        task_log = await hook.log(event="TASK_CREATE")
        assert [e["event"] for e in task_log] == ["TASK_CREATE"]
        assert task_log[0]["resource"] == "tasks"
        listing = (await hook.emu.client.get("/_emulator/webhooks")).json()["webhooks"]
        assert listing[0]["client_id"] == DEFAULT_CLIENT_ID
