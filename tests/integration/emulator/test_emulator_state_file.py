"""--state-file survives a crash: a save on demand, and the periodic save after a change, so a
`kill -9` of `chronobridge emulator` keeps what was done a few seconds before it."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2

from chronobridge.emulator import EmulatorConfig
from chronobridge.emulator._config import DEFAULT_CLIENT_ID
from support.emulator_harness import emulator, eventually
from support.servers import free_port


async def test_a_save_on_demand_writes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    config = EmulatorConfig(patients=3, appointments=3, state_file=path)
    async with emulator(config) as emu:
        emu.state.records.update("tasks", next(iter(emu.state.records.table("tasks").order)), {
            "title": "Saved on demand"
        })  # fmt: skip
        answer = await emu.client.post("/_emulator/state/save")
        assert answer.status_code == 200
        assert answer.json() == {"saved": str(path), "bytes": path.stat().st_size}
        assert "Saved on demand" in path.read_text(encoding="utf-8")


async def test_without_a_state_file_a_save_is_refused() -> None:
    async with emulator(EmulatorConfig(patients=3, appointments=3)) as emu:
        answer = await emu.client.post("/_emulator/state/save")
        assert answer.status_code == 409
        assert "--state-file" in answer.json()["detail"]


async def test_a_change_is_saved_in_the_background(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    config = EmulatorConfig(
        patients=3, appointments=3, state_file=path, extra={"autosave_seconds": "0.05"}
    )
    async with emulator(config) as emu:
        await emu.client.post("/_emulator/churn", json={"changes": 1})
        await eventually(path.exists)
        first = path.stat().st_mtime_ns
        await emu.client.put("/_emulator/apps/late-app", json={
            "client_secret": "late-secret-late-secret-late-xx", "redirect_uris": ["http://x/cb"]
        })  # fmt: skip
        await eventually(lambda: "late-app" in path.read_text(encoding="utf-8"))
        assert path.stat().st_mtime_ns > first


@contextlib.contextmanager
def emulator_process(state_file: Path, log: Path) -> Iterator[str]:
    """`chronobridge emulator --state-file` in its own process; yields its URL."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "chronobridge", "emulator", "--port", str(port),
             "--patients", "5", "--state-file", str(state_file)],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while f"emulator listening on {url}" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield url
    finally:
        process.kill()  # SIGKILL: no shutdown hook runs, no last save
        process.wait(timeout=10)


def test_a_kill_9_after_a_change_keeps_the_change(tmp_path: Path) -> None:
    state_file, log = tmp_path / "state.json", tmp_path / "emulator.log"
    with emulator_process(state_file, log) as url, httpx2.Client(base_url=url) as client:
        grant = client.post(
            "/_emulator/oauth/token", json={"client_id": DEFAULT_CLIENT_ID, "user": "doctor1"}
        ).json()
        auth = {"Authorization": f"Bearer {grant['access_token']}"}
        created = client.post(
            "/api/patients",
            json={"first_name": "Survivor", "gender": "Female", "doctor": 268001},
            headers=auth,
        )
        assert created.status_code == 201, created.text
        patient = created.json()["id"]
        deadline = time.monotonic() + 30  # the saver writes within seconds of the change
        while "Survivor" not in (state_file.read_text() if state_file.exists() else ""):
            assert time.monotonic() < deadline, "the change was never saved"
            time.sleep(0.1)
    saved = json.loads(state_file.read_text())
    assert saved["version"] == 1
    with emulator_process(state_file, log) as url, httpx2.Client(base_url=url) as client:
        found = client.get(f"/api/patients/{patient}", headers=auth)  # the token survived too
        assert found.status_code == 200, found.text
        assert found.json()["first_name"] == "Survivor"
