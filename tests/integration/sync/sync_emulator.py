"""The emulator as the sync tests' DrChrono: in-process (ASGI) or over a real socket.

`practice(...)` yields a seeded emulator with a token for doctor1, a `StaticClients` source
for the engine, and `expected(resource)`: what DrChrono holds for the practice, as
{id: sha256 of the record's canonical JSON, rendered exactly like a list page}, to compare
with the store's digests.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx2

from chronobridge.catalog import CATALOG
from chronobridge.client import MemoryBudget
from chronobridge.emulator import EmulatorConfig, EmulatorState, create_app
from chronobridge.emulator._seed import MAIN_PRACTICE
from chronobridge.emulator._serialize import renderer
from chronobridge.sync import StaticClients
from chronobridge.sync._prepare import canonical_json, digest_of

BASE = "http://emulator.test"


async def _no_wait(_seconds: float) -> None:
    return None


@dataclass
class Practice:
    state: EmulatorState
    http: httpx2.AsyncClient
    clients: StaticClients
    budget: MemoryBudget

    def expected(self, resource: str) -> dict[str, str]:
        return expected_digests(self.state, resource)

    async def churn(self, changes: int) -> list[dict[str, Any]]:
        answer = await self.http.post("/_emulator/churn", json={"changes": changes})
        answer.raise_for_status()
        result: list[dict[str, Any]] = answer.json()["changes"]
        return result

    async def advance_clock(self, seconds: float) -> None:
        answer = await self.http.post("/_emulator/clock", json={"advance": seconds})
        answer.raise_for_status()

    async def stats_total(self) -> int:
        return int((await self.http.get("/_emulator/stats")).json()["total"])


def expected_digests(state: EmulatorState, resource: str) -> dict[str, str]:
    """{id: digest} of the practice's live records, rendered exactly like a list page."""
    schema = CATALOG.resources[resource].schema
    found: dict[str, str] = {}
    for record, meta in state.records.scan(resource):
        if meta.practice != MAIN_PRACTICE:
            continue
        wire = renderer(state).wire(schema, record, meta, verbose=False)
        found[str(record["id"])] = digest_of(canonical_json(wire))
    return found


async def token_for(http: httpx2.AsyncClient, user: str = "doctor1") -> str:
    answer = await http.post(
        "/_emulator/oauth/token", json={"client_id": "demo-client-id", "user": user}
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


@contextlib.asynccontextmanager
async def practice(
    *, patients: int = 60, appointments: int = 120, seed: int = 7, rate_limit: int = 100_000
) -> AsyncIterator[Practice]:
    config = EmulatorConfig(
        patients=patients,
        appointments=appointments,
        seed=seed,
        rate_limit=rate_limit,
        extra={"batch_ready_seconds": "0"},
    )
    app = create_app(config)
    transport = httpx2.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=transport, base_url=BASE) as http,
    ):
        budget = MemoryBudget()
        clients = StaticClients(
            access_token=await token_for(http),
            base_url=BASE,
            transport=transport,
            budget=budget,
            sleep=_no_wait,
        )
        yield Practice(state=app.state.emulator, http=http, clients=clients, budget=budget)
