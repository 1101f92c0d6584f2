"""The hourly window per application: separate per app, reset at the top of the hour, and the
token endpoint counted like the API."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx2

from chronobridge.emulator import Clock, EmulatorConfig, create_app
from chronobridge.emulator._app import build_state
from chronobridge.emulator._config import DEFAULT_CLIENT_ID, DEFAULT_REDIRECT_URI
from support.emulator_harness import Emulator, emulator

LIMIT = 5
THROTTLED = re.compile(r"^Request was throttled\. Expected available in (\d+)\.0 seconds\.$")


async def token_for(emu: Emulator, client_id: str, user: str = "doctor1") -> dict[str, str]:
    answer = await emu.client.post(
        "/_emulator/oauth/token", json={"client_id": client_id, "user": user}
    )
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def calls(emu: Emulator, headers: dict[str, str], count: int) -> list[int]:
    return [
        (await emu.client.get("/api/users/current", headers=headers)).status_code
        for _ in range(count)
    ]


async def test_each_application_has_its_own_window_reset_at_the_top_of_the_hour() -> None:
    clock = Clock(frozen_at=datetime(2026, 3, 2, 10, 59, 30, tzinfo=UTC))
    state = build_state(EmulatorConfig(patients=3, appointments=3, rate_limit=LIMIT), clock=clock)
    app = create_app(state=state)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://e.test") as client:
        emu = Emulator(state=state, client=client)
        await client.put(
            "/_emulator/apps/second-app",
            json={"client_secret": "s2", "redirect_uris": [DEFAULT_REDIRECT_URI], "rate_limit": 2},
        )
        first = await token_for(emu, DEFAULT_CLIENT_ID)
        second = await token_for(emu, "second-app")
        statuses = await calls(emu, first, LIMIT + 1)
        assert 429 not in statuses[:LIMIT]
        assert statuses[LIMIT] == 429
        over = await client.get("/api/users/current", headers=first)
        match = THROTTLED.match(over.json()["detail"])
        assert match is not None
        assert int(match.group(1)) == 30
        assert (await calls(emu, second, 3))[-1] == 429  # its own, smaller window
        await client.post("/_emulator/clock", json={"set": "2026-03-02T11:00:00+00:00"})
        assert 429 not in await calls(emu, first, LIMIT)
        stats = (await client.get("/_emulator/stats")).json()
        assert stats["rate_limit"][DEFAULT_CLIENT_ID]["used"] == LIMIT
        assert stats["per_status"]["429"] >= 3


async def test_token_endpoint_counts_against_the_window_and_answers_429() -> None:
    async with emulator(EmulatorConfig(patients=3, appointments=3, rate_limit=2)) as emu:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": "unknown",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": emu.state.config.client_secret,
        }
        statuses = [(await emu.client.post("/o/token/", data=form)).status_code for _ in range(3)]
        assert statuses == [400, 400, 429]
        last = await emu.client.post("/o/token/", data=form)
        assert THROTTLED.match(last.json()["detail"])
        stats = (await emu.client.get("/_emulator/stats")).json()
        assert stats["per_application"][DEFAULT_CLIENT_ID] == 4
