"""Concurrency across real processes, against the emulator over a real socket.

(a) OA-6: 4 processes x 50 coroutines meet an expired access token at once: exactly one
    refresh request reaches DrChrono, and all 200 calls succeed.
(b) 16 processes share one application's budget (60 calls an hour): together they never go
    past it, DrChrono never answers 429, each ends with BudgetExhausted, the interactive reserve
    is still there for a person, and the next hour opens a new window.

Each worker process builds the hub from CHRONOBRIDGE_* variables, as the CLI does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest

from chronobridge.connections import complete_authorization, probe_authorization
from chronobridge.connections import start_authorization as start
from chronobridge.domain.budget import Priority
from chronobridge.emulator import EmulatorConfig, create_app
from chronobridge.emulator._config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from chronobridge.errors import BudgetExhausted
from chronobridge.settings import Settings
from chronobridge.store import Apps, AppSpec, Connection, KeyRing
from chronobridge.wiring import CLOCK_OFFSET_ENV, Hub
from support.servers import running_server

PROCS = Path(__file__).with_name("connections_procs.py")


class Processes:
    """N processes of connections_procs.py, released together."""

    def __init__(self, env: dict[str, str], count: int, *args: str) -> None:
        command = [sys.executable, str(PROCS), *args]
        self.procs = [
            subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
            for _ in range(count)
        ]  # fmt: skip

    def run(self) -> list[dict[str, Any]]:
        for proc in self.procs:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            assert line == "ready", (line, proc.stderr.read() if proc.stderr else "")
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in self.procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def emulator_url(request: pytest.FixtureRequest) -> Iterator[str]:
    limit = getattr(request, "param", 5000)
    config = EmulatorConfig(patients=10, appointments=20, rate_limit=limit, auto_approve="doctor1")
    with running_server(create_app(config)) as url:
        yield url


def _environment(home: Path, database_url: str, keyring: KeyRing, url: str) -> dict[str, str]:
    return {
        **os.environ,
        "CHRONOBRIDGE_HOME": str(home),
        "CHRONOBRIDGE_DATABASE_URL": database_url,
        "CHRONOBRIDGE_ENCRYPTION_KEYS": ",".join(k.decode() for k in keyring.keys),
        "CHRONOBRIDGE_DRCHRONO_URL": url,
        "CHRONOBRIDGE_CLIENT_ID": DEFAULT_CLIENT_ID,
        "CHRONOBRIDGE_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
    }


def _settings(env: dict[str, str]) -> Settings:
    names = ("home", "database_url", "encryption_keys", "drchrono_url", "client_id",
             "client_secret")  # fmt: skip
    return Settings(**{n: env[f"CHRONOBRIDGE_{n.upper()}"] for n in names})  # type: ignore[arg-type]


async def _connect(hub: Hub) -> Connection:
    started = await start(hub.services, await hub.app())
    callback = (await probe_authorization(hub.services, started)).callback
    assert callback is not None
    return await complete_authorization(hub.services, callback)


async def test_two_hundred_callers_in_four_processes_refresh_once(
    database_url: str, keyring: KeyRing, emulator_url: str, tmp_path: Path
) -> None:
    env = _environment(tmp_path, database_url, keyring, emulator_url)
    async with Hub.open(_settings(env)) as hub:
        connection = await _connect(hub)
    control = httpx2.Client(base_url=emulator_url)
    control.post("/_emulator/tokens/expire", json={"user": "doctor1"}).raise_for_status()
    control.post("/_emulator/stats/reset").raise_for_status()
    workers = Processes(env, 4, "refresh", str(connection.id), "50")
    try:
        results = workers.run()
    finally:
        workers.kill()
    stats = control.get("/_emulator/stats").json()
    assert [r["errors"] for r in results] == [[], [], [], []]
    assert sum(r["ok"] for r in results) == 200
    assert stats["per_path"]["/o/token/"] == 1
    assert stats["per_status"].get("400", 0) == 0  # no invalid_grant


# PostgreSQL is where many worker processes run (scale-out); the store's own test runs 16
# processes against the budget row on SQLite too.
@pytest.mark.parametrize("db_kind", [pytest.param("postgres", marks=pytest.mark.postgres)])
@pytest.mark.parametrize("emulator_url", [60], indirect=True)
async def test_sixteen_processes_never_exceed_the_applications_budget(
    database_url: str, keyring: KeyRing, emulator_url: str, tmp_path: Path
) -> None:
    control = httpx2.Client(base_url=emulator_url)
    hour = datetime.now(UTC).replace(minute=5, second=0, microsecond=0) + timedelta(hours=2)
    emulator_now = control.post("/_emulator/clock", json={"set": hour.isoformat()}).json()["now"]
    offset = datetime.fromisoformat(emulator_now) - datetime.now(UTC)
    env = {**_environment(tmp_path, database_url, keyring, emulator_url),
           CLOCK_OFFSET_ENV: str(offset.total_seconds())}  # fmt: skip
    async with Hub.open(_settings(env), clock=lambda: datetime.now(UTC) + offset) as hub:
        app = await hub.app()
        await Apps(hub.db).update(app.id, replace(_spec(app), rate_limit=60))
        connection = await _connect(hub)  # 3 interactive calls: code exchange, users/current
        workers = Processes(env, 16, "budget", str(connection.id), Priority.POLL.value)
        try:
            results = workers.run()
        finally:
            workers.kill()
        polled = sum(r["calls"] for r in results)
        assert polled == 45 - 3  # polls stop at 75 % of 60
        assert all(r["exhausted"] and r["rate_limited"] == 0 for r in results)
        interactive = await _spend(hub, connection)
        assert interactive == 60 - 45  # the reserve is a person's
    stats = control.get("/_emulator/stats").json()
    assert stats["rate_limit"][DEFAULT_CLIENT_ID]["used"] == 60
    assert "429" not in stats["per_status"]
    control.post("/_emulator/clock", json={"advance": 3600}).raise_for_status()
    later = offset + timedelta(hours=1)
    async with (
        Hub.open(_settings(env), clock=lambda: datetime.now(UTC) + later) as hub,
        await hub.client(connection, priority=Priority.POLL) as client,
    ):
        assert len((await client.call("doctors_list"))["results"]) == 3


async def _spend(hub: Hub, connection: Connection) -> int:
    calls = 0
    async with await hub.client(connection) as client:
        while True:
            try:
                await client.call("doctors_list")
            except BudgetExhausted:
                return calls
            calls += 1


def _spec(app: AppSpec) -> AppSpec:
    return AppSpec(**{f.name: getattr(app, f.name) for f in fields(AppSpec)})
