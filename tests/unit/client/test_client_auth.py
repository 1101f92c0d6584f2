"""401 -> one refresh -> one retry; a second 401 is Unauthorized. Redirects keep the headers."""

from __future__ import annotations

import asyncio

import httpx2
import pytest
from client_fakes import TOKEN, ok, rig

from chronobridge.client import MemoryTokenSource
from chronobridge.errors import NeedsReconnect, UnexpectedResponse

UNAUTHORIZED = httpx2.Response(
    401,
    text="Authorization failed.",
    headers={
        "Content-Type": "text/html; charset=utf-8",
        "WWW-Authenticate": 'Bearer error="invalid_token"',
    },
)


def _refresher(*tokens: str) -> MemoryTokenSource:
    queue = list(tokens)

    async def refresh() -> str:
        return queue.pop(0)

    return MemoryTokenSource(TOKEN, refresh=refresh)


def _accepting(good: str) -> object:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.headers["authorization"] != f"Bearer {good}":
            return UNAUTHORIZED
        return ok({"id": 5})

    return handler


async def test_a_refused_token_is_refreshed_once_and_the_call_retried() -> None:
    r = rig(_accepting("tok-new"), tokens=_refresher("tok-new"))  # type: ignore[arg-type]
    assert await r.client.patients.get(5) == {"id": 5}
    assert [q.headers["authorization"] for q in r.requests] == [f"Bearer {TOKEN}", "Bearer tok-new"]
    assert r.tokens.refreshes == 1
    assert r.budget.used == 2  # both attempts cost a call
    assert [c.status for c in r.observer.calls] == [401, 200]


async def test_a_second_401_ends_the_grant_and_is_not_retried_again() -> None:
    """OA-9: at most two attempts; a token refused right after its refresh means the grant is
    dead, so the connection needs reconnecting instead of refreshing on every request."""
    r = rig(_accepting("never"), tokens=_refresher("tok-new", "tok-newer"))  # type: ignore[arg-type]
    with pytest.raises(NeedsReconnect) as caught:
        await r.client.patients.get(5)
    assert len(r.requests) == 2
    assert r.tokens.refreshes == 1
    assert r.tokens.dead
    assert "tok-new" not in str(caught.value)


async def test_without_a_refresher_the_connection_needs_reconnecting() -> None:
    r = rig(_accepting("never"))  # type: ignore[arg-type]
    with pytest.raises(NeedsReconnect):
        await r.client.patients.get(5)
    assert len(r.requests) == 1


async def test_concurrent_401s_refresh_once() -> None:
    calls = 0

    async def refresh() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return "tok-new"

    tokens = MemoryTokenSource(TOKEN, refresh=refresh)
    r = rig(_accepting("tok-new"), tokens=tokens)  # type: ignore[arg-type]
    results = await asyncio.gather(*(r.client.patients.get(i) for i in range(5)))
    assert results == [{"id": 5}] * 5
    assert calls == 1


async def test_users_current_follows_the_302_with_the_same_method_and_headers() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/api/users/current":
            return httpx2.Response(
                302, headers={"Location": "https://app.drchrono.test/api/users/17"}
            )
        return ok({"id": 17, "username": "drtest", "is_doctor": True})

    r = rig(handler)
    user = await r.client.resource("users").action("current")
    assert user["id"] == 17
    first, second = r.requests
    assert (second.method, second.url.path) == ("GET", "/api/users/17")
    assert second.headers["authorization"] == first.headers["authorization"]
    assert second.headers["x-drc-api-version"] == "v4"
    assert [(c.path, c.status) for c in r.observer.calls] == [
        ("/api/users/current", 302),
        ("/api/users/{id}", 200),
    ]


async def test_a_relative_location_is_followed() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/api/users/current":
            return httpx2.Response(302, headers={"Location": "/api/users/17"})
        return ok({"id": 17})

    r = rig(handler)
    assert (await r.client.call("users_current"))["id"] == 17


async def test_a_redirect_to_another_host_is_not_followed() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            302, headers={"Location": "https://collector.evil.test/api/users/17"}
        )

    r = rig(handler)
    with pytest.raises(UnexpectedResponse):
        await r.client.call("users_current")
    assert len(r.requests) == 1  # the token never left for the other host


async def test_a_redirect_loop_ends() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(302, headers={"Location": "/api/users/current"})

    r = rig(handler)
    with pytest.raises(UnexpectedResponse):
        await r.client.call("users_current")
    assert len(r.requests) == 4
