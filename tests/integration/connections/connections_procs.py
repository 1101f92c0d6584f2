"""Worker processes for the concurrency tests: `python connections_procs.py MODE ARGS...`.

Each process builds the hub exactly as the CLI does (`wiring.Hub.open()` from CHRONOBRIDGE_*
variables: database, keys, default app, clock offset), prints `ready`, waits for `go` on stdin
so that all start together, does its work and prints one JSON line.

    refresh CONNECTION_ID COROUTINES    every coroutine calls GET /api/doctors once
    budget CONNECTION_ID PRIORITY       call GET /api/doctors until the budget refuses
"""

from __future__ import annotations

import asyncio
import json
import sys
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


MODES = {"refresh": refresh, "budget": budget}

if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    result = asyncio.run(MODES[mode](*args))
    print(json.dumps(result), flush=True)
