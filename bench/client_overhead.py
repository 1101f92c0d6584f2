"""What the DrChrono client costs: API calls per record, and time per 250-record page.

    python bench/client_overhead.py [--patients 10000] [--rounds 300]

(a) A full patient list against the emulator with N patients: calls made against the minimum
    ceil(N / 250) (no fixed overhead for a next-link list), and the async batch flow's calls
    against 1 POST + polls + ceil(N / 1000) page reads.
(b) Client overhead per 250-record page (request building, budget, observer, envelope checks,
    yielding record by record) against a baseline measured in the same run: a bare httpx2 GET
    plus json.loads of the same page through the same transport. Two transports: a replay of
    one captured emulator page (isolates the client) and the emulator itself over ASGI.
(c) The same list through the hub's real connection path (bench/_connection_path.py): connect
    (code exchange, /api/users/current) then list, counting the connection's fixed overhead,
    and a page through the connection's client (store budget, API log) against the others.
Prints figures only; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import statistics
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx2

from chronobridge.catalog import SCOPES
from chronobridge.client import DrChronoClient, MemoryObserver, MemoryTokenSource
from chronobridge.emulator import EmulatorConfig, create_app

try:
    from bench._connection_path import connection_path
except ImportError:  # run as a script: python bench/client_overhead.py
    from _connection_path import connection_path  # type: ignore[no-redef]

BASE = "http://emulator.bench"
PAGE = 250


def _emulator(patients: int) -> tuple[Any, str]:
    app = create_app(EmulatorConfig(patients=patients, rate_limit=1_000_000))
    state = app.state.emulator
    doctor = next(u for u in state.users.values() if u.is_doctor)
    token = state.issue_token(
        client_id=state.config.client_id, user_id=doctor.id, scopes=frozenset(SCOPES)
    )
    return app, token.access_token


async def calls_per_record(patients: int) -> None:
    app, token = _emulator(patients)
    observer = MemoryObserver()

    async def sleep(seconds: float) -> None:
        app.state.emulator.clock.advance(timedelta(seconds=seconds))

    client = DrChronoClient(
        tokens=MemoryTokenSource(token),
        base_url=BASE,
        transport=httpx2.ASGITransport(app=app),
        observer=observer,
        sleep=sleep,
    )
    async with client:
        started = time.perf_counter()
        listed = sum([1 async for _ in client.patients.list()])
        list_s = time.perf_counter() - started
        list_calls = len(observer.calls)
        batched = sum([1 async for _ in client.patients.batch()])
        batch_calls = observer.calls[list_calls:]
    polls = sum(1 for c in batch_calls if c.method == "GET") - (math.ceil(batched / 1000) - 1)
    print(f"(a) patient list, N = {listed} records ({list_s:.2f} s against the emulator)")
    print(
        f"    next-link list: {list_calls} calls; minimum ceil(N/250) = {math.ceil(listed / PAGE)}"
    )
    print(f"    calls per record: {list_calls / max(listed, 1):.4f}")
    print(
        f"    async batch ({batched} records): {len(batch_calls)} calls = 1 POST + {polls} poll(s)"
        f" + {math.ceil(batched / 1000) - 1} page read(s) of 1,000"
    )


async def _timings_us(
    rounds: int, *runs: Callable[[], Awaitable[int]]
) -> list[tuple[float, float]]:
    """(fastest, median) µs of each run; rounds interleave and rotate the runs, GC runs apart.

    The fastest sample is the steadiest figure on a shared machine; the median is shown too.
    """
    samples: list[list[float]] = [[] for _ in runs]
    for round_ in range(rounds + 10):
        if round_ % 25 == 0:
            gc.collect()
        shift = round_ % len(runs)  # each run takes each position in turn
        for index in [*range(shift, len(runs)), *range(shift)]:
            gc.disable()
            started = time.perf_counter_ns()
            await runs[index]()
            elapsed = (time.perf_counter_ns() - started) / 1000
            gc.enable()
            if round_ >= 10:  # the first rounds warm up
                samples[index].append(elapsed)
    return [(min(s), statistics.median(s)) for s in samples]


async def _compare(
    name: str, transport: httpx2.AsyncBaseTransport, rounds: int, *, token: str
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(base_url=BASE, transport=transport) as bare:
        client = DrChronoClient(tokens=MemoryTokenSource(token), base_url=BASE, transport=transport)

        async def baseline() -> int:
            response = await bare.get("/api/patients", params={"page_size": PAGE}, headers=headers)
            return sum(1 for _ in json.loads(response.content)["results"])

        async def through_client() -> int:
            pages = client.patients.pages()
            page = await anext(pages)
            await pages.aclose()
            return sum(1 for _ in page.results)

        async def record_by_record() -> int:
            records = client.patients.list()
            assert isinstance(records, AsyncGenerator)
            count = 0
            async for _ in records:
                count += 1
                if count == PAGE:
                    break
            await records.aclose()
            return count

        base, page, listed = await _timings_us(rounds, baseline, through_client, record_by_record)
        await client.aclose()
    print(f"    {name}: fastest (median) µs per page")
    print(f"      baseline httpx2 GET + json.loads: {_pair(base)}")
    print(f"      client pages():                   {_pair(page)}  overhead {_delta(page, base)}")
    per_record = (listed[0] - base[0]) / PAGE
    line = f"{_pair(listed)}  overhead {_delta(listed, base)} = {per_record:+.2f} µs/record"
    print(f"      client list(), record by record:  {line}")


def _pair(timing: tuple[float, float]) -> str:
    return f"{timing[0]:>8,.0f} ({timing[1]:,.0f})"


def _delta(timing: tuple[float, float], base: tuple[float, float]) -> str:
    return f"{timing[0] - base[0]:+,.0f} ({timing[1] - base[1]:+,.0f})"


async def overhead_per_page(rounds: int) -> None:
    app, token = _emulator(PAGE * 2)
    emulator = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(base_url=BASE, transport=emulator) as bare:
        headers = {"Authorization": f"Bearer {token}"}
        response = await bare.get("/api/patients", params={"page_size": PAGE}, headers=headers)
    captured = json.loads(response.content)
    captured["next"] = None  # the replay is a one-page list
    body = json.dumps(captured).encode()
    replay = httpx2.MockTransport(
        lambda request: httpx2.Response(
            200, content=body, headers={"Content-Type": "application/json"}
        )
    )
    print(f"(b) time per {PAGE}-record page ({len(body):,} bytes), {rounds} rounds")
    await _compare("replayed page", replay, rounds, token=token)
    await _compare("emulator (ASGI)", emulator, rounds, token=token)


def run(*, patients: int = 10_000, rounds: int = 300) -> None:
    """The entry point `python -m bench` calls."""
    asyncio.run(calls_per_record(patients))
    asyncio.run(overhead_per_page(rounds))
    asyncio.run(connection_path(patients, rounds, _timings_us))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    run(patients=args.patients, rounds=args.rounds)
