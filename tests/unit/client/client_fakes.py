"""Small fakes for the client's unit tests: a DrChrono answering through MockTransport, a clock."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2

from chronobridge.client import (
    ClientOptions,
    DrChronoClient,
    MemoryBudget,
    MemoryObserver,
    MemoryTokenSource,
)
from chronobridge.domain.backoff import Backoff

BASE = "https://app.drchrono.test"
TOKEN = "tok-access-0001"
Handler = Callable[[httpx2.Request], httpx2.Response | Awaitable[httpx2.Response]]


@dataclass
class FakeTime:
    now: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 10, 15, tzinfo=UTC))
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


@dataclass
class Rig:
    """A client wired to a handler, with every port observable."""

    client: DrChronoClient
    requests: list[httpx2.Request]
    tokens: MemoryTokenSource
    budget: MemoryBudget
    observer: MemoryObserver
    time: FakeTime


def rig(
    handler: Handler,
    *,
    tokens: MemoryTokenSource | None = None,
    options: ClientOptions | None = None,
    base_url: str = BASE,
    budget: MemoryBudget | None = None,
) -> Rig:
    requests: list[httpx2.Request] = []

    async def recording(request: httpx2.Request) -> httpx2.Response:
        await request.aread()
        requests.append(request)
        answer = handler(request)
        return await answer if isinstance(answer, Awaitable) else answer

    tokens = tokens or MemoryTokenSource(TOKEN)
    budget, observer, time = budget or MemoryBudget(), MemoryObserver(), FakeTime()
    client = DrChronoClient(
        tokens=tokens,
        base_url=base_url,
        transport=httpx2.MockTransport(recording),
        budget=budget,
        observer=observer,
        options=options or ClientOptions(batch_backoff=Backoff(initial=1, cap=8, max_wait=60)),
        sleep=time.sleep,
        clock=time.clock,
    )
    return Rig(client, requests, tokens, budget, observer, time)


def ok(body: Any, status: int = 200, **headers: str) -> httpx2.Response:
    return httpx2.Response(status, json=body, headers=headers)


def query(request: httpx2.Request) -> dict[str, str]:
    return dict(request.url.params)


def body_of(request: httpx2.Request) -> Any:
    return json.loads(request.content) if request.content else None


def envelope(
    results: list[Any], next_url: str | None, previous: str | None = None
) -> dict[str, Any]:
    return {"previous": previous, "results": results, "next": next_url}
