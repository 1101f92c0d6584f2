"""Single-flight refresh across threads (OA-6): four threads, each with its own event loop and
its own hub (database engine, token sources, asyncio locks, as a threaded server would have),
meet an expired access token at once; DrChrono sees exactly one refresh and every call
succeeds. The in-process lock cannot help here (one per event loop): the store's lock and the
generation check do, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from chronobridge.connections import complete_authorization, probe_authorization
from chronobridge.connections import start_authorization as start
from chronobridge.emulator import EmulatorConfig, create_app
from chronobridge.emulator._config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from chronobridge.errors import HubError
from chronobridge.settings import Settings
from chronobridge.store import KeyRing
from chronobridge.wiring import Hub
from support.servers import running_server

THREADS, CALLS = 4, 10
WAIT_S = 120.0  # a thread that is not done by then has hung: fail, never block the run


@pytest.fixture
def emulator_url() -> Iterator[str]:
    config = EmulatorConfig(patients=4, appointments=4, auto_approve="doctor1")
    with running_server(create_app(config)) as url:
        yield url


def _settings(home: Path, database_url: str, keyring: KeyRing, url: str) -> Settings:
    return Settings(
        home=home,
        database_url=database_url,  # type: ignore[arg-type]
        encryption_keys=",".join(k.decode() for k in keyring.keys),  # type: ignore[arg-type]
        drchrono_url=url,
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,  # type: ignore[arg-type]
    )


async def _connect(settings: Settings) -> int:
    async with Hub.open(settings) as hub:
        started = await start(hub.services, await hub.app())
        callback = (await probe_authorization(hub.services, started)).callback
        assert callback is not None
        return (await complete_authorization(hub.services, callback)).id


def _thread(settings: Settings, connection_id: int, ready: threading.Barrier) -> list[str]:
    """One thread's own event loop and hub: CALLS coroutines call at once."""

    async def one(hub: Hub) -> str:
        try:
            async with await hub.client(connection_id) as client:
                await client.call("doctors_list")
        except HubError as error:
            return type(error).__name__
        return "ok"

    async def work() -> list[str]:
        async with Hub.open(settings) as hub:
            ready.wait()  # every thread's hub is open: go together
            return list(await asyncio.gather(*[one(hub) for _ in range(CALLS)]))

    return asyncio.run(work())


async def test_threads_with_their_own_event_loops_refresh_once(
    database_url: str, keyring: KeyRing, emulator_url: str, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, database_url, keyring, emulator_url)
    connection_id = await _connect(settings)
    with httpx2.Client(base_url=emulator_url) as control:
        control.post("/_emulator/tokens/expire", json={"user": "doctor1"}).raise_for_status()
        control.post("/_emulator/stats/reset").raise_for_status()
        ready = threading.Barrier(THREADS, timeout=WAIT_S)
        outcomes: list[list[str]] = [[] for _ in range(THREADS)]

        def run(index: int) -> None:
            try:
                outcomes[index] = _thread(settings, connection_id, ready)
            except BaseException as exc:  # shown in the assertion below
                outcomes[index] = ["".join(traceback.format_exception(exc))[-3000:]]
                ready.abort()

        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=WAIT_S)
        stats = control.get("/_emulator/stats").json()
    assert outcomes == [["ok"] * CALLS] * THREADS  # a hung thread's outcome stays []
    assert [thread.is_alive() for thread in threads] == [False] * THREADS
    assert stats["per_path"]["/o/token/"] == 1
    assert stats["per_status"].get("400", 0) == 0  # no invalid_grant
