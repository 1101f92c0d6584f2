"""With --state-file, webhook registrations and OAuth token families survive a restart."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from chronobridge.emulator import EmulatorConfig
from chronobridge.emulator._config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from chronobridge.emulator._seed import MAIN_PRACTICE
from support.emulator_harness import authorize, emulator, eventually, receiver

HOOKS = f"/_emulator/webhooks/{DEFAULT_CLIENT_ID}"


def refresh_form(token: str) -> dict[str, str]:
    return {
        "grant_type": "refresh_token",
        "refresh_token": token,
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
    }


async def test_registrations_and_token_families_survive_a_restart(tmp_path: Path) -> None:
    config = EmulatorConfig(patients=3, appointments=3, state_file=tmp_path / "state.json")
    with receiver("s") as (found, url):
        async with emulator(config) as emu:
            first = await authorize(emu.client)
            rotated = await emu.client.post("/o/token/", data=refresh_form(first["refresh_token"]))
            second = rotated.json()
            await emu.client.put(HOOKS, json={"url": url, "secret": "s", "signature": "hmac"})
        async with emulator(config) as emu:
            registration = (await emu.client.get(HOOKS)).json()
            assert registration["verified"] is True
            assert registration["signature"] == "hmac"
            assert len(found.handshakes) == 1
            reuse = await emu.client.post("/o/token/", data=refresh_form(first["refresh_token"]))
            assert reuse.json()["error"] == "invalid_grant"
            assert emu.state.valid_token(second["access_token"]) is None
            emu.state.records.create("tasks", {"title": "after"}, practice=MAIN_PRACTICE)
            await eventually(lambda: found.posts)


async def test_a_webhook_flag_wins_over_the_state_file(tmp_path: Path) -> None:
    config = EmulatorConfig(patients=3, appointments=3, state_file=tmp_path / "state.json")
    with receiver("old") as (_, old_url), receiver("new") as (_, new_url):
        async with emulator(config) as emu:
            await emu.client.put(HOOKS, json={"url": old_url, "secret": "old"})
        flagged = dataclasses.replace(config, webhook_url=new_url, webhook_secret="new")
        async with emulator(flagged) as emu:
            registration = (await emu.client.get(HOOKS)).json()
            assert registration["url"] == new_url
            await eventually(lambda: emu.state.extensions["webhooks"].registrations[
                DEFAULT_CLIENT_ID].verified)  # fmt: skip
