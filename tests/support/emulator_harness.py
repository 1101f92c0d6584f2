"""Helpers for tests that drive the DrChrono emulator: the emulator in-process with its
background tasks running, the OAuth dance, and a webhook receiver on a real socket."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chronobridge.emulator import EmulatorConfig, EmulatorState, create_app
from chronobridge.emulator._config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REDIRECT_URI,
)
from support.servers import running_server

BASE = "http://emulator.test"


@dataclass
class Emulator:
    state: EmulatorState
    client: httpx2.AsyncClient


@contextlib.asynccontextmanager
async def emulator(config: EmulatorConfig | None = None) -> AsyncIterator[Emulator]:
    """The emulator in-process, lifespan (webhook sender, churn) included."""
    app = create_app(config or EmulatorConfig(patients=5, appointments=10))
    transport = httpx2.ASGITransport(app=app)
    client = httpx2.AsyncClient(transport=transport, base_url=BASE)
    async with app.router.lifespan_context(app), client:
        yield Emulator(state=app.state.emulator, client=client)


def code_from(response: httpx2.Response) -> dict[str, str]:
    """The query of the redirect back to the app (code, state, or error)."""
    assert response.status_code == 302, response.text
    query = parse_qs(urlparse(response.headers["location"]).query)
    return {key: values[0] for key, values in query.items()}


async def consent(
    client: httpx2.AsyncClient,
    *,
    username: str = "doctor1",
    client_id: str = DEFAULT_CLIENT_ID,
    redirect_uri: str = DEFAULT_REDIRECT_URI,
    scope: str | None = None,
    allow: str = "Authorize",
    state: str = "st4te",
) -> httpx2.Response:
    """Load the consent page, then submit it the way a browser would."""
    params = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "state": state,
    }
    if scope is not None:
        params["scope"] = scope
    page = await client.get("/o/authorize/", params=params)
    assert page.status_code == 200, page.text
    form = {**params, "username": username, "allow": allow}
    return await client.post("/o/authorize/", data=form)


async def exchange(
    client: httpx2.AsyncClient,
    code: str,
    *,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    redirect_uri: str = DEFAULT_REDIRECT_URI,
) -> httpx2.Response:
    return await client.post(
        "/o/token/",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": client_secret,
        },
    )


async def authorize(client: httpx2.AsyncClient, **options: Any) -> dict[str, Any]:
    """The whole flow: consent as a user, exchange the code; the token response."""
    exchange_keys = {"client_id", "redirect_uri"}
    secret = options.pop("client_secret", DEFAULT_CLIENT_SECRET)
    code = code_from(await consent(client, **options))["code"]
    kept = {k: v for k, v in options.items() if k in exchange_keys}
    answer = await exchange(client, code, client_secret=secret, **kept)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def eventually(check: Callable[[], Any], *, within: float = 20.0) -> Any:
    """Poll until `check()` is truthy (deliveries happen in the background). The generous limit
    only matters when something is wrong or the machine is very busy."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook receiver: answers the handshake with `answer_secret`, records POSTs."""

    answer_secret: str
    status: int = 200
    delay: float = 0.0
    posts: list[Received] = field(default_factory=list)
    handshakes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        async def verify(request: Request) -> Response:
            msg = request.query_params["msg"]
            self.handshakes.append(msg)
            key = self.answer_secret.encode()
            token = hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()
            return JSONResponse({"secret_token": token})

        async def receive(request: Request) -> Response:
            body = await request.body()
            with self.lock:
                self.posts.append(Received(dict(request.headers), body))
            if self.delay:
                await asyncio.sleep(self.delay)
            return Response(status_code=self.status)

        return Starlette(
            routes=[
                Route("/hook", verify, methods=["GET"]),
                Route("/hook", receive, methods=["POST"]),
            ]
        )

    def events(self) -> list[str]:
        with self.lock:
            return [p.headers["x-drchrono-event"] for p in self.posts]


@contextlib.contextmanager
def receiver(secret: str = "hook-secret", **options: Any) -> Iterator[tuple[Receiver, str]]:
    """A receiver on a real socket; yields it and its callback URL."""
    found = Receiver(answer_secret=secret, **options)
    with running_server(found.app()) as base:
        yield found, f"{base}/hook"
