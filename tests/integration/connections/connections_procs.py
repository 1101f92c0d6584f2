"""Worker processes for the concurrency tests: `python connections_procs.py MODE ARGS...`.

Each process builds the hub exactly as the CLI does (`wiring.Hub.open()` from CHRONOBRIDGE_*
variables: database, keys, default app, clock offset), prints `ready`, waits for `go` on stdin
so that all start together, does its work and prints one JSON line.

    refresh CONNECTION_ID COROUTINES    every coroutine calls GET /api/doctors once
    budget CONNECTION_ID PRIORITY       call GET /api/doctors until the budget refuses
    hour CONNECTION_ID PRIORITY CLOCK_FILE END
                                        call GET /api/doctors on the test's simulated clock
                                        (the time in CLOCK_FILE, which the test moves along
                                        with the emulator's) until END: every 1-2 s of it near
                                        the top of an hour, every 10 min otherwise
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from chronobridge.client import DrChronoClient
from chronobridge.connections import WaitPolicy
from chronobridge.domain.budget import Priority
from chronobridge.errors import BudgetExhausted, HubError, RateLimited
from chronobridge.wiring import Hub


def _ready_then_wait() -> None:
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("no go")


async def _one(client: DrChronoClient) -> str:
    try:
        await client.call("doctors_list")
    except HubError as error:
        return type(error).__name__
    return "ok"


async def refresh(connection_id: str, coroutines: str) -> dict[str, Any]:
    async with Hub.open() as hub, await hub.client(int(connection_id)) as client:
        _ready_then_wait()
        outcomes = await asyncio.gather(*[_one(client) for _ in range(int(coroutines))])
    return {"ok": outcomes.count("ok"), "errors": [o for o in outcomes if o != "ok"]}


async def budget(connection_id: str, priority: str) -> dict[str, Any]:
    policy = WaitPolicy(background_seconds=0)  # refuse at once: nothing here may wait an hour
    calls, exhausted, limited = 0, False, 0
    async with Hub.open(policy=policy) as hub:
        client = await hub.client(int(connection_id), priority=Priority(priority))
        async with client:
            _ready_then_wait()
            while not exhausted and calls < 1000:
                try:
                    await client.call("doctors_list")
                    calls += 1
                except BudgetExhausted:
                    exhausted = True
                except RateLimited:
                    limited += 1
    return {"calls": calls, "exhausted": exhausted, "rate_limited": limited}


def file_clock(path: Path) -> Callable[[], datetime]:
    """The simulated time the test writes (atomically) into `path`."""
    return lambda: datetime.fromisoformat(path.read_text())


def pause(now: datetime, dice: random.Random, *, busy: float = 10.0) -> float:
    """Simulated seconds to the next call: 1-2 s within `busy` s of the top of an hour,
    else 10 min, but never past the start of the busy stretch."""
    into = now.minute * 60 + now.second + now.microsecond / 1e6
    if min(into, 3600 - into) < busy:
        return dice.uniform(1.0, 2.0)
    return min(600.0, 3600 - busy - into)


async def hour(connection_id: str, priority: str, clock_file: str, end_text: str) -> dict[str, Any]:
    """Calls on the simulated clock; every time this process sees is acknowledged in its own
    file, so that the test can keep the clock from running far ahead of a slow process."""
    clock, end = file_clock(Path(clock_file)), datetime.fromisoformat(end_text)
    ack = Acknowledged(Path(clock_file).with_name(f"ack-{os.getpid()}"))
    dice = random.Random(os.getpid())

    async def until(when: datetime) -> None:
        while ack(clock()) < min(when, end):  # noqa: ASYNC110  (the test moves the time)
            await asyncio.sleep(0.005)

    async def sleep(seconds: float) -> None:  # simulated seconds
        await until(clock() + timedelta(seconds=seconds))

    calls: list[str] = []
    refused = limited = 0
    policy = WaitPolicy(background_seconds=0)  # waits happen below, on the simulated clock
    async with Hub.open(clock=clock, sleep=sleep, policy=policy) as hub:
        client = await hub.client(int(connection_id), priority=Priority(priority))
        async with client:
            await client.call("doctors_list")  # warm: the first call of a process is slow
            ack(clock())
            _ready_then_wait()
            while (at := ack(clock())) < end:
                await until(at + timedelta(seconds=pause(at, dice)))
                if (at := ack(clock())) >= end:
                    break
                try:
                    await client.call("doctors_list")
                    calls.append(at.isoformat())
                except BudgetExhausted as spent:
                    refused += 1
                    await until(spent.resume_at)
                except RateLimited:
                    limited += 1
    return {"calls": calls, "refused": refused, "rate_limited": limited}


class Acknowledged:
    """Writes the newest simulated time this process has seen (atomically, when it changes)."""

    def __init__(self, path: Path) -> None:
        self.path, self.seen = path, ""

    def __call__(self, now: datetime) -> datetime:
        text = now.isoformat()
        if text != self.seen:
            written = self.path.with_suffix(".tmp")
            written.write_text(text)
            os.replace(written, self.path)
            self.seen = text
        return now


MODES = {"refresh": refresh, "budget": budget, "hour": hour}

if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    result = asyncio.run(MODES[mode](*args))
    print(json.dumps(result), flush=True)
