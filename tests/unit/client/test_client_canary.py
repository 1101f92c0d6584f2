"""Canaries: tokens, the client secret and a patient's name never reach exception texts or logs.

Each canary is pushed through every error path: in what we send (query and body), in what
DrChrono answers (bodies, headers, redirect targets, batch details) and in transport failures.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Awaitable, Callable

import httpx2
import pytest
from client_fakes import rig

from chronobridge.client import DrChronoClient, MemoryTokenSource
from chronobridge.errors import HubError

ACCESS = "canary-access-7f3a9c"
REFRESH = "canary-refresh-b41d2e"
SECRET = "canary-client-secret-90e1"
PATIENT = "Zebulon Canaryfield"
CANARIES = (ACCESS, REFRESH, SECRET, PATIENT, "Zebulon", "Canaryfield")
LEAK = f"{PATIENT} {ACCESS} {REFRESH} {SECRET}"
SENT = {"first_name": "Zebulon", "last_name": "Canaryfield", "note": LEAK}

Call = Callable[[DrChronoClient], Awaitable[object]]


def _answer(status: int, **extra: str) -> Callable[[httpx2.Request], httpx2.Response]:
    def handler(request: httpx2.Request) -> httpx2.Response:
        body = {"detail": LEAK, "last_name": [f"{PATIENT} is taken", f'"{PATIENT}" is invalid']}
        headers = {"X-Echo": LEAK.replace(" ", "-"), **extra}
        return httpx2.Response(status, json=body, headers=headers)

    return handler


def _raw(status: int, text: str) -> Callable[[httpx2.Request], httpx2.Response]:
    return lambda request: httpx2.Response(status, text=text)


def _transport(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ReadError(f"connection reset while reading {request.url} {LEAK}", request=request)


def _batch_failure(status: int) -> Callable[[httpx2.Request], httpx2.Response]:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST":
            return httpx2.Response(201, json={"status": "In progress", "uuid": "u"})
        return httpx2.Response(status, json={"status": "Failed", "uuid": "u", "detail": LEAK})

    return handler


def _create(client: DrChronoClient) -> Awaitable[object]:
    return client.patients.create({**SENT, "gender": "Male", "doctor": 1}, note=LEAK)


def _get(client: DrChronoClient) -> Awaitable[object]:
    return client.call("patients_read", id=5, params={"last_name": PATIENT, "token": REFRESH})


async def _batch(client: DrChronoClient) -> object:
    return [p async for p in client.patients.batch(last_name=PATIENT, token=ACCESS)]


async def _list(client: DrChronoClient) -> object:
    return [p async for p in client.patients.list(last_name=PATIENT, secret=SECRET)]


PATHS: list[tuple[str, Callable[[httpx2.Request], httpx2.Response], Call]] = [
    *[(f"status {s}", _answer(s), _create) for s in (400, 401, 403, 404, 405, 409, 429, 500, 503)],
    *[(f"get {s}", _answer(s), _get) for s in (400, 404, 418)],
    ("429 with retry-after", _answer(429, **{"Retry-After": LEAK}), _get),
    ("foreign redirect", _answer(302, Location=f"https://evil.test/?t={ACCESS}&n={PATIENT}"), _get),
    ("bad json", _raw(200, f'{{"first_name": "{PATIENT}", "token": "{ACCESS}"'), _get),
    ("html 400", _raw(400, f"<html>{LEAK}</html>"), _create),
    ("list without envelope", _raw(200, json.dumps({"data": [LEAK]})), _list),
    ("transport", _transport, _get),
    ("batch failed 200", _batch_failure(200), _batch),
    ("batch failed 500", _batch_failure(500), _batch),
]


def _texts(error: BaseException) -> str:
    parts = [str(error), repr(error), repr(error.args), getattr(error, "hint", "")]
    parts += [repr(vars(error))]
    parts += traceback.format_exception(error)
    return "\n".join(parts)


@pytest.mark.parametrize(("name", "handler", "call"), PATHS, ids=[p[0] for p in PATHS])
async def test_no_canary_in_errors_or_logs(
    name: str,
    handler: Callable[[httpx2.Request], httpx2.Response],
    call: Call,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    r = rig(handler, tokens=MemoryTokenSource(ACCESS))
    with pytest.raises(HubError) as caught:
        await call(r.client)
    text = _texts(caught.value)
    logged = caplog.text + repr([(rec.msg, rec.args) for rec in caplog.records])
    observed = repr(r.observer.calls)
    for canary in CANARIES:
        assert canary not in text, f"{name}: {canary!r} in the error"
        assert canary not in logged, f"{name}: {canary!r} in the log"
        assert canary not in observed, f"{name}: {canary!r} in the API log"


async def test_the_token_source_repr_shows_no_token() -> None:
    async def refresh() -> str:
        return REFRESH

    source = MemoryTokenSource(ACCESS, refresh=refresh)
    await source.refreshed(ACCESS)
    assert ACCESS not in repr(source)
    assert REFRESH not in repr(source)
