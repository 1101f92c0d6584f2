"""The emulator in process with a seeded practice, a doctor's token and a transport spy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx2

from chronobridge.catalog import SCOPES
from chronobridge.client import (
    DrChronoClient,
    MemoryBudget,
    MemoryObserver,
    MemoryTokenSource,
    TokenSource,
)
from chronobridge.emulator import EmulatorConfig, EmulatorState, create_app

BASE = "http://emulator.test"


class Spy(httpx2.AsyncBaseTransport):
    """Records what the client sends, then hands it to the real transport."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx2.Request] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


@dataclass
class Emulated:
    app: Any
    state: EmulatorState
    user_id: int
    access_token: str
    spy: Spy
    budget: MemoryBudget = field(default_factory=MemoryBudget)
    observer: MemoryObserver = field(default_factory=MemoryObserver)

    def issue(self, scopes: frozenset[str] = frozenset(SCOPES)) -> str:
        token = self.state.issue_token(
            client_id=self.state.config.client_id, user_id=self.user_id, scopes=scopes
        )
        return token.access_token

    async def sleep(self, seconds: float) -> None:
        """The batch poll's pause moves the emulator's clock instead of waiting."""
        self.state.clock.advance(timedelta(seconds=seconds))

    def client(self, *, tokens: TokenSource | None = None) -> DrChronoClient:
        return DrChronoClient(
            tokens=tokens or MemoryTokenSource(self.access_token),
            base_url=BASE,
            transport=self.spy,
            budget=self.budget,
            observer=self.observer,
            sleep=self.sleep,
        )


def emulate(**config: Any) -> Emulated:
    app = create_app(EmulatorConfig(**config))
    state: EmulatorState = app.state.emulator
    doctor = next(u for u in state.users.values() if u.is_doctor)
    token = state.issue_token(
        client_id=state.config.client_id, user_id=doctor.id, scopes=frozenset(SCOPES)
    )
    spy = Spy(httpx2.ASGITransport(app=app))
    return Emulated(
        app=app, state=state, user_id=doctor.id, access_token=token.access_token, spy=spy
    )
