"""Each of DrChrono's 27 webhook events can be produced from outside the process: by the REST
API where DrChrono's API can make the change, else by the control API's staff edits and
deletions (`/_emulator/records/...`), as DrChrono's staff would make them in the web UI."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx2

from chronobridge.catalog import CATALOG, Kind
from chronobridge.emulator import EmulatorConfig, EmulatorState
from chronobridge.emulator._config import DEFAULT_CLIENT_ID
from chronobridge.emulator._crud import write_schema
from chronobridge.emulator._seed import MAIN_PRACTICE
from chronobridge.emulator._validate import fields
from support.emulator_harness import emulator, eventually, receiver

SECRET = "every-event-secret"
RECORDS = "/_emulator/records"


def seeded(state: EmulatorState, table: str) -> dict[str, Any]:
    return next(r for r, m in state.records.scan(table) if m.practice == MAIN_PRACTICE)


def body_like(state: EmulatorState, table: str, **overrides: Any) -> dict[str, Any]:
    """A valid create body: the writable fields of a seeded record of the same table."""
    op = CATALOG.resource(table).op(Kind.CREATE)
    assert op is not None, table
    known = fields(write_schema(op) or "")
    source = seeded(state, table)
    body = {
        k: v
        for k, v in source.items()
        if k in known and not known[k].read_only and v is not None and not k.startswith("_")
    }
    return {**body, **overrides}


class Staff:
    """REST calls as doctor1's application, and the control API's staff changes."""

    def __init__(self, client: httpx2.AsyncClient, token: str, state: EmulatorState) -> None:
        self.client, self.state = client, state
        self.auth = {"Authorization": f"Bearer {token}"}

    async def create(self, table: str, **overrides: Any) -> str:
        body = body_like(self.state, table, **overrides)
        answer = await self.client.post(f"/api/{table}", json=body, headers=self.auth)
        assert answer.status_code == 201, (table, answer.text)
        return str(answer.json()["id"])

    async def patch(self, table: str, record_id: str, body: dict[str, Any]) -> None:
        answer = await self.client.patch(f"/api/{table}/{record_id}", json=body, headers=self.auth)
        assert answer.status_code == 204, (table, answer.text)

    async def delete(self, table: str, record_id: str) -> None:
        answer = await self.client.delete(f"/api/{table}/{record_id}", headers=self.auth)
        assert answer.status_code == 204, (table, answer.text)

    async def staff_patch(self, table: str, record_id: Any, body: dict[str, Any]) -> None:
        answer = await self.client.patch(f"{RECORDS}/{table}/{record_id}", json=body)
        assert answer.status_code == 200, (table, answer.text)

    async def staff_delete(self, table: str, record_id: Any) -> None:
        answer = await self.client.delete(f"{RECORDS}/{table}/{record_id}")
        assert answer.status_code == 200, (table, answer.text)


async def produce_everything(staff: Staff) -> None:
    state = staff.state
    patient = await staff.create("patients", first_name="Every", patient_flags_attached=[])
    flag_type = seeded(state, "patient_flag_types")["id"]
    for text in ("first", "second"):  # a new flag, then the same flag changed
        flag = {"flag_type": flag_type, "flag_text": text}
        await staff.patch("patients", patient, {"patient_flags_attached": [flag]})
    appointment = await staff.create("appointments", scheduled_time="2099-03-04T10:00:00")
    await staff.patch("appointments", appointment, {"reason": "Moved"})
    await staff.delete("appointments", appointment)
    for table in ("allergies", "problems", "medications"):
        await staff.patch(table, await staff.create(table, patient=int(patient)), {"notes": "x"})
    for table in ("lab_orders", "line_items"):
        record = await staff.create(table)
        await staff.patch(
            table, record, {"notes": "x"} if table == "lab_orders" else {"quantity": 2}
        )
        await staff.delete(table, record)
    task = await staff.create("tasks", title="Call back")
    await staff.patch("tasks", task, {"priority": "30"})
    await staff.staff_delete("tasks", task)
    await staff.staff_delete("patient_payments", await staff.create("patient_payments"))
    await staff.staff_delete("transactions", seeded(state, "transactions")["id"])
    note = seeded(state, "clinical_notes")["id"]
    for locked in (False, True, False):
        await staff.staff_patch("clinical_notes", note, {"locked": locked})
    await staff.create("patient_vaccine_records", patient=int(patient))


async def test_every_event_can_be_produced_over_http() -> None:
    with receiver(SECRET) as (found, url):
        async with emulator(EmulatorConfig(patients=5, appointments=10)) as emu:
            token = await emu.client.post(
                "/_emulator/oauth/token", json={"client_id": DEFAULT_CLIENT_ID, "user": "doctor1"}
            )
            hooks = f"/_emulator/webhooks/{DEFAULT_CLIENT_ID}"
            registered = await emu.client.put(hooks, json={"url": url, "secret": SECRET})
            assert registered.json()["verified"] is True, registered.text
            await produce_everything(Staff(emu.client, token.json()["access_token"], emu.state))
            every = {event.name for event in CATALOG.events}
            assert len(every) == 27
            missing = lambda: every - set(found.events())  # noqa: E731
            with contextlib.suppress(AssertionError):
                await eventually(lambda: not missing())
            assert not missing()


async def test_staff_changes_are_checked() -> None:
    async with emulator(EmulatorConfig(patients=3, appointments=3)) as emu:
        task = seeded(emu.state, "tasks")["id"]
        cases = [
            ("PATCH", f"{RECORDS}/tasks/{task}", {"no_such_field": 1}, 400),
            ("PATCH", f"{RECORDS}/tasks/{task}", {"id": 5}, 400),
            ("PATCH", f"{RECORDS}/tasks/{task}", [1], 400),
            ("PATCH", f"{RECORDS}/nothing/1", {}, 404),
            ("DELETE", f"{RECORDS}/users/1", None, 404),
            ("DELETE", f"{RECORDS}/tasks/999999999", None, 404),
            ("DELETE", f"{RECORDS}/tasks/abc", None, 404),
        ]
        for method, url, body, status in cases:
            answer = await emu.client.request(method, url, json=body)
            assert answer.status_code == status, (method, url, answer.text)
            assert answer.json()["detail"]
        deleted = await emu.client.delete(f"{RECORDS}/tasks/{task}")
        assert deleted.json() == {"resource": "tasks", "kind": "deleted", "id": task}
        again = await emu.client.delete(f"{RECORDS}/tasks/{task}")
        assert again.status_code == 404
        assert emu.state.records.get("tasks", task) is None
