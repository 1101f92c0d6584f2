"""Scripted faults and the control API: 429s, 5xx bursts, slow answers, token expiry, clock,
stats, health, apps."""

from __future__ import annotations

import time
from typing import Any

from chronobridge.emulator import EmulatorConfig
from chronobridge.emulator._config import DEFAULT_CLIENT_ID, DEFAULT_REDIRECT_URI
from support.emulator_harness import Emulator, emulator


async def bearer(emu: Emulator, user: str = "doctor1", client_id: str = DEFAULT_CLIENT_ID) -> Any:
    answer = await emu.client.post(
        "/_emulator/oauth/token", json={"client_id": client_id, "user": user}
    )
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def statuses(emu: Emulator, headers: dict[str, str], count: int) -> list[int]:
    return [
        (await emu.client.get("/api/users/current", headers=headers)).status_code
        for _ in range(count)
    ]


async def test_scripted_429s_then_normal_service() -> None:
    async with emulator() as emu:
        headers = await bearer(emu)
        added = await emu.client.post(
            "/_emulator/faults", json={"kind": "throttle", "count": 2, "retry_after": 7}
        )
        assert added.status_code == 201
        first = await emu.client.get("/api/users/current", headers=headers)
        assert first.status_code == 429
        assert first.json() == {
            "detail": "Request was throttled. Expected available in 7.0 seconds."
        }
        assert await statuses(emu, headers, 2) == [429, 302]


async def test_5xx_burst_only_for_the_named_app() -> None:
    async with emulator() as emu:
        await emu.client.put(
            "/_emulator/apps/other", json={"client_secret": "s", "redirect_uris": ["http://x/cb"]}
        )
        mine, other = await bearer(emu), await bearer(emu, client_id="other")
        await emu.client.post(
            "/_emulator/faults",
            json={"faults": [{"kind": "error", "count": 3, "status": s} for s in (502,)]
                  + [{"kind": "error", "count": 1, "status": 500, "client_id": DEFAULT_CLIENT_ID}]},
        )  # fmt: skip
        assert await statuses(emu, other, 3) == [502, 502, 502]
        assert await statuses(emu, mine, 2) == [500, 302]
        assert (await emu.client.get("/_emulator/faults")).json() == {"api": [], "webhooks": []}


async def test_slow_answers_and_reset() -> None:
    async with emulator() as emu:
        headers = await bearer(emu)
        await emu.client.post("/_emulator/faults", json={"kind": "slow", "count": 1, "delay": 0.3})
        started = time.perf_counter()
        assert await statuses(emu, headers, 1) == [302]
        assert time.perf_counter() - started >= 0.3
        await emu.client.post("/_emulator/faults", json={"kind": "error", "probability": 1.0})
        assert await statuses(emu, headers, 2) == [503, 503]  # until reset
        assert (await emu.client.delete("/_emulator/faults")).status_code == 204
        assert await statuses(emu, headers, 1) == [302]


async def test_token_endpoint_faults_and_bad_fault_descriptions() -> None:
    async with emulator() as emu:
        await emu.client.post(
            "/_emulator/faults", json={"kind": "error", "path": "/o/token/", "status": 503}
        )
        form = {
            "grant_type": "refresh_token",
            "refresh_token": "x",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": emu.state.config.client_secret,
        }
        assert (await emu.client.post("/o/token/", data=form)).status_code == 503
        assert (await emu.client.post("/o/token/", data=form)).status_code == 400
        for bad in (
            {"kind": "explode"},
            {"kind": "error", "status": 404},
            {"kind": "slow", "count": 0},
        ):
            assert (await emu.client.post("/_emulator/faults", json=bad)).status_code == 400


async def test_startup_faults_from_the_config() -> None:
    config = EmulatorConfig(patients=3, appointments=3, extra={"faults": "error:1:502;throttle:1"})
    async with emulator(config) as emu:
        headers = await bearer(emu)
        assert await statuses(emu, headers, 3) == [502, 429, 302]


async def test_expire_tokens_for_one_user_or_all() -> None:
    async with emulator() as emu:
        doctor, staff = await bearer(emu), await bearer(emu, "staff1")
        one = await emu.client.post("/_emulator/tokens/expire", json={"user": "staff1"})
        assert one.json() == {"expired": 1}
        assert await statuses(emu, staff, 1) == [401]
        assert await statuses(emu, doctor, 1) == [302]
        rest = await emu.client.post("/_emulator/tokens/expire", json={})
        assert rest.json() == {"expired": 1}
        assert await statuses(emu, doctor, 1) == [401]


async def test_clock_moves_and_health_and_stats() -> None:
    async with emulator() as emu:
        health = (await emu.client.get("/_emulator/health")).json()
        assert health["status"] == "ok"
        await emu.client.post("/_emulator/clock", json={"freeze": True})
        moved = await emu.client.post("/_emulator/clock", json={"set": "2030-01-01T00:00:00Z"})
        assert moved.json()["now"] == "2030-01-01T00:00:00+00:00"
        later = await emu.client.post("/_emulator/clock", json={"advance": 90})
        assert later.json()["now"] == "2030-01-01T00:01:30+00:00"
        assert (await emu.client.post("/_emulator/clock", json={})).status_code == 400
        headers = await bearer(emu)
        await statuses(emu, headers, 2)
        stats = (await emu.client.get("/_emulator/stats")).json()
        assert stats["per_application"][DEFAULT_CLIENT_ID] == 2
        assert stats["per_path"]["/api/users/current"] == 2
        assert stats["per_status"]["302"] == 2
        await emu.client.post("/_emulator/stats/reset")
        assert (await emu.client.get("/_emulator/stats")).json()["total"] == 0


async def test_apps_are_listed_without_secrets_and_can_change() -> None:
    async with emulator() as emu:
        apps = (await emu.client.get("/_emulator/apps")).json()["apps"]
        assert [a["client_id"] for a in apps] == [DEFAULT_CLIENT_ID]
        assert "client_secret" not in apps[0]
        changed = await emu.client.put(
            f"/_emulator/apps/{DEFAULT_CLIENT_ID}", json={"private": True}
        )
        assert changed.status_code == 200
        assert changed.json()["private"] is True
        assert changed.json()["redirect_uris"] == [DEFAULT_REDIRECT_URI]
        incomplete = await emu.client.put("/_emulator/apps/new", json={"name": "x"})
        assert incomplete.status_code == 400
