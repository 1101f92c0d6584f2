"""(c) The full patient list through the hub's real connection path, as `chronobridge connect`
then `chronobridge call GET /api/patients --all` do it: the OAuth flow (state, PKCE, code
exchange, /api/users/current), tokens from the store, every call reserved in the store's budget
and written to the API log. Counts the calls DrChrono sees per record, and times a 250-record
page through the connection's client against the client alone (memory ports) and a bare GET.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2

from chronobridge.client import DrChronoClient, MemoryTokenSource
from chronobridge.connections import (
    Services,
    complete_authorization,
    open_client,
    probe_authorization,
    start_authorization,
)
from chronobridge.emulator import EmulatorConfig, create_app
from chronobridge.emulator._config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REDIRECT_URI,
)
from chronobridge.store import Apps, AppSpec, Connection, KeyRing, Tokens, open_database

BASE = "http://emulator.bench"
AUTHORIZE = "/o/authorize/"
PAGE = 250
Timings = Callable[..., Awaitable[list[tuple[float, float]]]]


async def connection_path(patients: int, rounds: int, timings: Timings) -> None:
    asgi = create_app(EmulatorConfig(patients=patients, rate_limit=10**9, auto_approve="doctor1"))
    stats = asgi.state.emulator.stats
    with tempfile.TemporaryDirectory() as folder:
        db = await open_database(f"sqlite+aiosqlite:///{Path(folder) / 'hub.sqlite'}",
                                 keys=KeyRing.generate())  # fmt: skip
        try:
            services = Services(db=db, transport=httpx2.ASGITransport(app=asgi))
            connection = await _connect(services)
            overhead = dict(stats.by_path)
            listed = await _list_all(services, connection)
            calls = {path: n - overhead.get(path, 0) for path, n in stats.by_path.items()}
            _report_calls(listed, overhead, calls)
            await _report_page(services, connection, rounds, timings)
        finally:
            await db.close()


async def _connect(services: Services) -> Connection:
    spec = AppSpec(name="bench", client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET,
                   redirect_uris=(DEFAULT_REDIRECT_URI,), drchrono_url=BASE,
                   rate_limit=10**9)  # fmt: skip
    app = await Apps(services.db).create(spec)
    start = await start_authorization(services, app)
    callback = (await probe_authorization(services, start)).callback
    assert callback is not None, "the emulator should approve at once"
    return await complete_authorization(services, callback)


async def _list_all(services: Services, connection: Connection) -> int:
    async with await open_client(services, connection) as client:
        return sum([1 async for _ in client.patients.list()])


def _report_calls(listed: int, overhead: dict[str, int], calls: dict[str, int]) -> None:
    # The consent page is a browser's request: DrChrono's hourly limit does not count it.
    pages = overhead.pop(AUTHORIZE, 0)
    connect = sum(overhead.values())
    list_calls = sum(calls.values())
    minimum = math.ceil(listed / PAGE)
    print(f"(c) the connection path: connect, then every patient (N = {listed})")
    detail = ", ".join(f"{path} {n}" for path, n in sorted(overhead.items()))
    print(f"    connection overhead: {connect} calls ({detail}), plus {pages} GET {AUTHORIZE}")
    print(f"    list calls: {list_calls}; ceil(N/{PAGE}) = {minimum}")
    print(
        f"    API calls per record: {list_calls / max(listed, 1):.4f} for the list, "
        f"{(list_calls + connect) / max(listed, 1):.4f} with the connection"
    )


async def _report_page(
    services: Services, connection: Connection, rounds: int, timings: Timings
) -> None:
    stored = await Tokens(services.db).get(connection.id)
    assert stored is not None
    token, transport = stored.access_token, services.transport
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(base_url=BASE, transport=transport) as bare,
        DrChronoClient(
            tokens=MemoryTokenSource(token), base_url=BASE, transport=transport
        ) as alone,
        await open_client(services, connection) as hub,
    ):

        async def baseline() -> int:
            response = await bare.get("/api/patients", params={"page_size": PAGE}, headers=headers)
            return len(response.json()["results"])

        base, memory, stored_ports = await timings(
            rounds, baseline, _first_page(alone), _first_page(hub)
        )
    print(f"    time per {PAGE}-record page, parse + yield, fastest (median) µs, {rounds} rounds")
    print(f"      bare httpx2 GET + json:           {_pair(base)}")
    print(f"      client, memory ports:             {_pair(memory)}  {_delta(memory, base)}")
    print(f"      connection (store budget + log):  {_pair(stored_ports)}  "
          f"{_delta(stored_ports, base)}")  # fmt: skip


def _first_page(client: DrChronoClient) -> Callable[[], Awaitable[int]]:
    async def run() -> int:
        count = 0
        records: Any = client.patients.list()
        async for _ in records:
            count += 1
            if count == PAGE:
                break
        await records.aclose()
        return count

    return run


def _pair(timing: tuple[float, float]) -> str:
    return f"{timing[0]:>8,.0f} ({timing[1]:,.0f})"


def _delta(timing: tuple[float, float], base: tuple[float, float]) -> str:
    return f"overhead {timing[0] - base[0]:+,.0f} ({timing[1] - base[1]:+,.0f})"
