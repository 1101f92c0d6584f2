"""Concurrency across real processes, against the emulator over a real socket.

(a) OA-6: 4 processes x 50 coroutines meet an expired access token at once: exactly one
    refresh request reaches DrChrono, and all 200 calls succeed.
(b) 16 processes share one application's budget (400 calls an hour) while the emulator's
    clock and the hub's move together through the hour and across its top (the workers read
    the hub's from a file the test moves with the emulator's): calls made in the last seconds
    of an hour may land in the next one at DrChrono, yet no window at DrChrono or in the store
    ever passes the limit and DrChrono never answers 429; the interactive reserve is left for a
    person, who can then spend the new hour up to its limit.

Each worker process builds the hub from CHRONOBRIDGE_* variables, as the CLI does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
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
from chronobridge.emulator import EmulatorConfig, EmulatorState, create_app
from chronobridge.emulator._config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from chronobridge.emulator._gate import windows
from chronobridge.errors import BudgetExhausted
from chronobridge.settings import Settings
from chronobridge.store import Apps, AppSpec, Budget, Connection, KeyRing
from chronobridge.wiring import Hub
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
        self.go()
        return self.results()

    def go(self) -> None:
        """Wait until every process is ready, then release them together."""
        for proc in self.procs:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            assert line == "ready", (line, proc.stderr.read() if proc.stderr else "")
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()

    def results(self) -> list[dict[str, Any]]:
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


LIMIT = 400


SKEW = timedelta(seconds=0.8)  # DrChrono's clock runs this much ahead of the hub's


class SimulatedClock:
    """The emulator's clock (frozen, set at every step) and the hub's (a file the worker
    processes read), moved together: fast through the hour, slowly across its top. The
    emulator's runs `SKEW` ahead, as two machines' clocks do: a call the hub makes in the last
    moment of an hour is counted by DrChrono in the next one."""

    def __init__(self, emulator: EmulatorState, path: Path, start: datetime) -> None:
        self.emulator, self.path, self.now = emulator, path, start
        emulator.clock.freeze(frozen=True)
        self.set(start)

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when
        written = self.path.with_suffix(".tmp")
        written.write_text(when.isoformat())
        os.replace(written, self.path)
        self.emulator.clock.set(when + SKEW)

    def run_until(self, end: datetime, top: datetime) -> None:
        while self.now < end:
            near = abs((self.now - top).total_seconds())
            step = 0.05 if near < 10 else 0.5 if near < 60 else 30.0
            if near < 10:
                self._let_workers_follow(behind=timedelta(seconds=1))
            self.set(min(self.now + timedelta(seconds=step), end))
            time.sleep(0.02)

    def _let_workers_follow(self, *, behind: timedelta) -> None:
        """Near the top, no worker is left more than `behind` back (on a loaded machine a
        process can stall): the time moves on while calls are in flight, but not too far."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            seen = [datetime.fromisoformat(p.read_text()) for p in self.path.parent.glob("ack-*")
                    if p.suffix != ".tmp"]  # fmt: skip
            if seen and min(seen) >= self.now - behind:
                return
            time.sleep(0.002)


# PostgreSQL is where many worker processes run (scale-out); the store's own test runs 16
# processes against the budget row on SQLite too.
@pytest.mark.slow
@pytest.mark.parametrize("db_kind", [pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_sixteen_processes_never_exceed_the_budget_across_the_top_of_the_hour(
    database_url: str, keyring: KeyRing, tmp_path: Path
) -> None:
    config = EmulatorConfig(patients=10, appointments=20, rate_limit=LIMIT,
                            auto_approve="doctor1")  # fmt: skip
    emulator_app = create_app(config)
    state: EmulatorState = emulator_app.state.emulator
    top = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=3)
    start, end = top - timedelta(minutes=30), top + timedelta(seconds=30)
    clock = SimulatedClock(state, tmp_path / "clock", start)
    with running_server(emulator_app) as url:
        env = _environment(tmp_path, database_url, keyring, url)
        async with Hub.open(_settings(env), clock=clock) as hub:
            app = await hub.app()
            await Apps(hub.db).update(app.id, replace(_spec(app), rate_limit=LIMIT))
            connection = await _connect(hub)
            workers = Processes(env, 16, "hour", str(connection.id), Priority.POLL.value,
                                str(clock.path), end.isoformat())  # fmt: skip
            try:
                workers.go()
                clock.run_until(end, top)
                results = workers.results()
            finally:
                workers.kill()
            drained = await _spend(hub, connection)  # a person, at the end: the rest of the hour
            hub_windows = [(await Budget(hub.db).usage(app.id, now=at)).used
                           for at in (top - timedelta(seconds=1), top)]  # fmt: skip
    calls = [datetime.fromisoformat(at) for r in results for at in r["calls"]]
    assert all(r["rate_limited"] == 0 for r in results)
    assert any(abs((at - top).total_seconds()) < 5 for at in calls)  # across the top
    assert drained > 0
    assert hub_windows[1] == LIMIT  # the person spent the new hour up to its limit ...
    assert hub_windows[0] <= LIMIT
    emulator_windows = {w: n for (client, w), n in windows(state).used.items()
                        if client == DEFAULT_CLIENT_ID}  # fmt: skip
    assert set(emulator_windows) == {top - timedelta(hours=1), top}
    assert max(emulator_windows.values()) <= LIMIT  # ... and DrChrono never saw more
    assert "429" not in state.stats.by_status


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
