"""--state-file: what the emulator knows survives a restart, and the file is written atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from chronobridge.emulator import EmulatorConfig, build_state, create_app
from chronobridge.emulator._keyed import keyed
from chronobridge.emulator._persist import load, save
from support.rest_api import api, first_id


class Counter:
    """An extension that follows the persistence protocol with an in-place `restore`."""

    def __init__(self) -> None:
        self.value = 0

    def snapshot(self) -> dict[str, Any]:
        return {"value": self.value}

    def restore(self, data: dict[str, Any]) -> None:
        self.value = int(data["value"])


def config(path: Path) -> EmulatorConfig:
    return EmulatorConfig(patients=12, appointments=30, rate_limit=10**6, state_file=path)


async def test_records_grants_and_extensions_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "emulator.json"
    state = build_state(config(path))
    async with api(state) as client:
        created = (
            await client.post("/api/patients", json={"gender": "Male", "doctor": 268001})
        ).json()
        patient = first_id(state, "patients")
        assert (
            await client.post(f"/api/patients/{patient}/onpatient_access", json={})
        ).status_code == 201
        assert (await client.post("/api/iframe_integration")).status_code == 204
        access = client.headers["authorization"].split()[1]
    state.extensions["counter"] = counter = Counter()
    counter.value = 7
    app = create_app(state=state)
    async with app.router.lifespan_context(app):
        pass  # shutting down writes the file
    assert sorted(os.listdir(tmp_path)) == ["emulator.json"]  # no temporary file left behind

    again = build_state(config(path))
    again.extensions["counter"] = Counter()
    assert load(again)
    assert again.records.get("patients", created["id"]) is not None
    assert again.tokens[access].user_id == state.tokens[access].user_id
    assert again.iframes == state.iframes
    assert again.users.keys() == state.users.keys()
    assert keyed(again, "onpatient_access").items.keys() == {str(patient)}
    assert again.extensions["counter"].value == 7
    async with api(again) as client:
        client.headers["authorization"] = f"Bearer {access}"
        answer = await client.get(f"/api/patients/{created['id']}")
    assert answer.status_code == 200


def test_no_state_file_means_seed_and_no_write(tmp_path: Path) -> None:
    state = build_state(EmulatorConfig(patients=3, appointments=3))
    assert not load(state)
    save(state)
    assert list(tmp_path.iterdir()) == []


def test_unclaimed_extension_data_is_kept_for_the_next_start(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    first = build_state(config(path))
    keyed(first, "yellow_notepad").items["1:2"] = "note"
    save(first)
    second = build_state(config(path))  # nobody touches the yellow notepad this time
    save(second)
    third = build_state(config(path))
    assert keyed(third, "yellow_notepad").items == {"1:2": "note"}
