"""The webhook sender: the verification handshake and every delivery attempt (facts §5).

One background loop per emulator takes queued attempts and due retries from the registry and
sends each in its own task, so a slow receiver (or a scripted delay) never holds up the others,
and no REST request ever waits for a delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
import time
from typing import Any

import httpx2

from chronobridge.emulator._faults import faults
from chronobridge.emulator._webhook_registry import (
    Attempt,
    Delivery,
    Registration,
    WebhookRegistry,
)

USER_AGENT = "DrChrono-Webhooks (chronobridge emulator)"
STARTUP_VERIFY_EVERY = 2.0  # seconds between handshakes for a --webhook-url not yet answering
STARTUP_VERIFY_FOR = 600.0


def signature(registration: Registration, body: bytes) -> str:
    """DrChrono documents the header as the shared secret itself; "hmac" signs the raw body."""
    if registration.signature == "hmac":
        key = registration.secret.encode("utf-8")
        return hmac.new(key, body, hashlib.sha256).hexdigest()
    return registration.secret


async def verify(registry: WebhookRegistry, registration: Registration) -> bool:
    """GET callback?msg=<random>; the answer must be {"secret_token": hex HMAC(secret, msg)}."""
    msg = secrets.token_hex(16)
    key = registration.secret.encode("utf-8")
    expected = hmac.new(key, msg.encode("utf-8"), hashlib.sha256).hexdigest()
    async with _client() as client:
        ok, reason = await _challenge(client, registration, msg, expected)
    registration.verified = ok
    at = registry.state.clock.now().isoformat()
    registration.verification = {"at": at, "ok": ok, "reason": reason}
    return ok


async def _challenge(
    client: httpx2.AsyncClient, registration: Registration, msg: str, expected: str
) -> tuple[bool, str]:
    try:
        response = await client.get(
            registration.url, params={"msg": msg}, timeout=registration.timeout
        )
    except httpx2.TimeoutException:
        return False, "timeout"
    except httpx2.HTTPError as exc:
        return False, f"connection failed ({type(exc).__name__})"
    if response.status_code != 200:
        return False, f"answered {response.status_code}, expected 200"
    try:
        answer = response.json()
    except ValueError:
        return False, "the answer is not JSON"
    token = answer.get("secret_token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not hmac.compare_digest(token, expected):
        return False, "wrong secret_token"
    return True, "verified"


async def run(registry: WebhookRegistry) -> None:
    """The background sender: forever take work, send it, sleep until woken or 0.25 s."""
    registry.attach(asyncio.get_running_loop())
    tasks: set[asyncio.Task[None]] = set()
    for client_id in list(registry.startup_pending):
        _spawn(tasks, _verify_at_startup(registry, client_id))
    async with _client() as client:
        try:
            while True:
                for delivery, kind in registry.take():
                    _spawn(tasks, attempt(registry, client, delivery, kind))
                await registry.sleep(0.25)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def attempt(
    registry: WebhookRegistry, client: httpx2.AsyncClient, delivery: Delivery, kind: str
) -> None:
    registration = registry.registrations.get(delivery.client_id)
    if registration is None:
        return
    plan = faults(registry.state).delivery_plan(delivery.client_id)
    if plan.delay:
        await asyncio.sleep(plan.delay)
    if plan.drop:  # pretend it went out: logged as delivered, never sent
        now = registry.state.clock.now()
        registry.record(delivery, Attempt(kind=kind, at=now, status=200, fault="drop"))
        return
    fault = "delay" if plan.delay else None
    registry.record(delivery, await _post(registry, client, registration, delivery, kind, fault))
    if plan.duplicate:
        copy = await _post(registry, client, registration, delivery, "duplicate", "duplicate")
        registry.record(delivery, copy)


async def _post(
    registry: WebhookRegistry,
    client: httpx2.AsyncClient,
    registration: Registration,
    delivery: Delivery,
    kind: str,
    fault: str | None,
) -> Attempt:
    at = registry.state.clock.now()
    started = time.perf_counter()
    status: int | None = None
    error: str | None = None
    try:
        response = await client.post(
            registration.url,
            content=delivery.body,
            headers=_headers(registration, delivery),
            timeout=registration.timeout,
        )
        status = response.status_code
    except httpx2.TimeoutException:
        error = "timeout"
    except httpx2.HTTPError as exc:
        error = f"connection failed ({type(exc).__name__})"
    latency = (time.perf_counter() - started) * 1000
    return Attempt(kind=kind, at=at, status=status, error=error, latency_ms=latency, fault=fault)


def _headers(registration: Registration, delivery: Delivery) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-drchrono-event": delivery.event,
        "X-drchrono-signature": signature(registration, delivery.body),
        "X-drchrono-delivery": delivery.id,
    }


async def _verify_at_startup(registry: WebhookRegistry, client_id: str) -> None:
    """A --webhook-url often starts after the emulator: keep knocking for a while."""
    deadline = time.monotonic() + STARTUP_VERIFY_FOR
    while time.monotonic() < deadline:
        registration = registry.registrations.get(client_id)
        if registration is None or registration.verified:
            break
        with contextlib.suppress(Exception):
            if await verify(registry, registration):
                break
        await asyncio.sleep(STARTUP_VERIFY_EVERY)
    registry.startup_pending.discard(client_id)


def _spawn(tasks: set[asyncio.Task[None]], job: Any) -> None:
    task: asyncio.Task[None] = asyncio.create_task(job)
    tasks.add(task)
    task.add_done_callback(tasks.discard)


def _client() -> httpx2.AsyncClient:
    # Redirects are failures (facts §5), so they are not followed.
    return httpx2.AsyncClient(follow_redirects=False, timeout=httpx2.Timeout(5.0, connect=2.0))
