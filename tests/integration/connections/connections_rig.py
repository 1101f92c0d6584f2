"""The hub's connection services against the emulator in process (ASGI), on a real database.

`Rig.connect("staff1")` runs the real authorization-code flow unattended: the emulator's
auto-approve user is switched, the authorize URL is probed, the callback completed. The hub's
clock is a `MovableClock`, so a test can jump to the last 10 % of a token's life.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2

from chronobridge.connections import (
    Services,
    WaitPolicy,
    complete_authorization,
    probe_authorization,
    start_authorization,
)
from chronobridge.emulator import EmulatorConfig, EmulatorState, create_app
from chronobridge.emulator._config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REDIRECT_URI,
)
from chronobridge.store import App, Apps, AppSpec, Connection, Database

EMULATOR = "http://emulator.test"


class MovableClock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


class Spy(httpx2.AsyncBaseTransport):
    """Counts the requests per path, then hands them to the emulator."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.paths: list[str] = []
        self.down = False  # True: every request fails as if DrChrono were unreachable
        self.refuse_api = False  # True: every /api/ call answers 401, fresh tokens too

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.paths.append(request.url.path)
        if self.down:
            raise httpx2.ConnectError("connection refused", request=request)
        if self.refuse_api and request.url.path.startswith("/api/"):
            return httpx2.Response(401, text="Authorization failed.", request=request)
        return await self.inner.handle_async_request(request)

    def count(self, path: str) -> int:
        return sum(1 for p in self.paths if p == path)


@dataclass
class Rig:
    services: Services
    app: App
    state: EmulatorState
    spy: Spy
    clock: MovableClock
    control: httpx2.AsyncClient
    sleeps: list[float] = field(default_factory=list)

    async def connect(self, username: str) -> Connection:
        answer = await self.control.put("/_emulator/oauth/auto-approve", json={"user": username})
        assert answer.status_code == 200, answer.text
        start = await start_authorization(self.services, self.app)
        probe = await probe_authorization(self.services, start)
        assert probe.callback is not None
        return await complete_authorization(self.services, probe.callback)

    async def emulator(self, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        """The emulator's control API."""
        answer = await self.control.request(method, url, json=body)
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else None


async def make_rig(db: Database, *, rate_limit: int = 100_000, **emulator: Any) -> Rig:
    settings: dict[str, Any] = {"patients": 12, "appointments": 24, "rate_limit": rate_limit}
    settings["auto_approve"] = "doctor1"
    settings.update(emulator)
    asgi = create_app(EmulatorConfig(**settings))
    spy = Spy(httpx2.ASGITransport(app=asgi))
    clock = MovableClock()
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:  # waiting moves the clock instead
        sleeps.append(seconds)
        clock.advance(seconds)

    services = Services(
        db=db, clock=clock, sleep=sleep, transport=spy, policy=WaitPolicy(background_seconds=120)
    )
    app = await Apps(db).create(
        AppSpec(
            name="emu",
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            redirect_uris=(DEFAULT_REDIRECT_URI,),
            drchrono_url=EMULATOR,
            rate_limit=rate_limit,
        )
    )
    control = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=asgi), base_url=EMULATOR)
    return Rig(services, app, asgi.state.emulator, spy, clock, control, sleeps)
