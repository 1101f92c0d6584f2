"""Churn: exactly N deterministic staff changes on demand, a steady rate, and webhooks firing."""

from __future__ import annotations

from typing import Any

from chronobridge.emulator import EmulatorConfig
from chronobridge.emulator._config import DEFAULT_CLIENT_ID
from chronobridge.emulator._records import Change
from support.emulator_harness import emulator, eventually, receiver

CONFIG = EmulatorConfig(patients=5, appointments=10, seed=42)


async def churn(client: Any, changes: int) -> list[dict[str, Any]]:
    answer = await client.post("/_emulator/churn", json={"changes": changes})
    assert answer.status_code == 200, answer.text
    done: list[dict[str, Any]] = answer.json()["changes"]
    return done


async def test_exactly_n_changes_through_the_record_store() -> None:
    async with emulator(CONFIG) as emu:
        seen: list[Change] = []
        emu.state.records.subscribe(seen.append)
        done = await churn(emu.client, 40)
        assert len(done) == 40
        assert len(seen) == 40
        assert [(c.resource, c.kind, c.id) for c in seen] == [
            (d["resource"], d["kind"], d["id"]) for d in done
        ]
        assert len({d["resource"] for d in done}) >= 5
        assert all(c.client_id is None for c in seen)  # staff in DrChrono, not an app


async def test_the_same_seed_makes_the_same_changes() -> None:
    async with emulator(CONFIG) as first, emulator(CONFIG) as second:
        assert await churn(first.client, 25) == await churn(second.client, 25)


async def test_churn_fires_webhooks() -> None:
    with receiver("s") as (found, url):
        async with emulator(CONFIG) as emu:
            await emu.client.post(
                "/_emulator/oauth/token", json={"client_id": DEFAULT_CLIENT_ID, "user": "doctor1"}
            )
            await emu.client.put(
                f"/_emulator/webhooks/{DEFAULT_CLIENT_ID}", json={"url": url, "secret": "s"}
            )
            await churn(emu.client, 30)
            queued = len(emu.state.extensions["webhooks"].deliveries)
            assert queued >= 20  # most staff changes fire an event
            await eventually(lambda: len(found.posts) == queued)


async def test_a_steady_rate_in_the_background() -> None:
    async with emulator(EmulatorConfig(patients=3, appointments=3, churn=1200)) as emu:
        status = (await emu.client.get("/_emulator/churn")).json()
        assert status["per_minute"] == 1200
        await eventually(lambda: emu.state.extensions["churn"].total >= 3)
        await emu.client.post("/_emulator/churn", json={"per_minute": 0})
        bad = await emu.client.post("/_emulator/churn", json={"changes": -1})
        assert bad.status_code == 400


async def test_deletions_only_when_asked_and_only_of_what_the_api_cannot_delete() -> None:
    async with emulator(CONFIG) as emu:
        plain = await churn(emu.client, 120)
        assert all(d["kind"] != "deleted" for d in plain)
        answer = await emu.client.post("/_emulator/churn", json={"changes": 120, "deletions": True})
        deleted = {d["resource"] for d in answer.json()["changes"] if d["kind"] == "deleted"}
        assert deleted == {"tasks", "patient_payments", "transactions"}
        for change in answer.json()["changes"]:
            if change["kind"] == "deleted":
                assert emu.state.records.get(change["resource"], change["id"]) is None
