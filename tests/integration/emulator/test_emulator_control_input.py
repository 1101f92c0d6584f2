"""The control API refuses bad input with 400 and a clear message before changing anything, and
nothing sent to it (numbers that overflow, NaN, deep nesting, wrong types) gets a 5xx or leaves
a script that would make a later call hang."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chronobridge.emulator import EmulatorConfig, build_state, create_app
from chronobridge.emulator._config import DEFAULT_CLIENT_ID
from chronobridge.emulator._faults import MAX_DELAY, faults
from support.rest_api import BASE

STATE = build_state(
    EmulatorConfig(patients=5, appointments=10, state_file=Path(tempfile.mkdtemp()) / "state.json")
)
APP = create_app(state=STATE)


async def send(method: str, url: str, body: bytes | None = None) -> httpx2.Response:
    transport = httpx2.ASGITransport(app=APP)
    async with httpx2.AsyncClient(transport=transport, base_url=BASE) as client:
        headers = {"content-type": "application/json"} if body is not None else {}
        return await client.request(method, url, content=body, headers=headers)


def call(method: str, url: str, body: Any = None, *, raw: bytes | None = None) -> httpx2.Response:
    content = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    return asyncio.run(send(method, url, content))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"advance": 1e400}', "the body must be JSON: number is infinity"),
        (b'{"advance": "inf"}', "advance must be a number"),
        (b'{"advance": NaN}', "the body must be JSON"),
        (b'{"advance": 1e300}', "advance must be between"),
        (b'{"advance": true}', "advance must be a number"),
        (b'{"set": "9999-12-31T23:59:59Z"}', "the clock must stay between"),
        (b'{"set": "not a time"}', "set must be an ISO 8601 time"),
        (b'{"set": "2030-01-01T00:00:00Z", "advance": "x"}', "advance must be a number"),
        (b'{"freeze": "yes"}', "freeze must be true or false"),
        (b"[1, 2]", "the body must be a JSON object"),
        (b"[" * 5000 + b"]" * 5000, "the body must be JSON"),
    ],
)
def test_the_clock_refuses_what_it_cannot_keep(raw: bytes, message: str) -> None:
    before = call("GET", "/_emulator/clock").json()["now"][:16]
    answer = call("POST", "/_emulator/clock", raw=raw)
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith(message), answer.text
    assert call("GET", "/_emulator/clock").json()["now"][:16] == before  # nothing moved


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "slow", "delay": 1e309},
        {"kind": "slow", "delay": MAX_DELAY + 1},
        {"kind": "throttle", "retry_after": -1},
        {"kind": "error", "count": 1e400},
        {"kind": "error", "count": 2.5},
        {"kind": "error", "status": 418},
        {"kind": "error", "probability": 0},
        {"kind": "error", "client_id": 7},
        {"faults": [{"kind": "error"}, {"kind": "slow", "delay": "long"}]},
    ],
)
def test_a_bad_fault_is_refused_and_nothing_is_stored(body: dict[str, Any]) -> None:
    raw = json.dumps(body).replace("Infinity", "1e400").encode()
    answer = call("POST", "/_emulator/faults", raw=raw)
    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"]
    listed = call("GET", "/_emulator/faults")
    assert listed.status_code == 200
    assert listed.json() == {"api": [], "webhooks": []}


def test_a_private_application_is_not_handed_to_an_outsider_by_the_shortcut() -> None:
    call("PUT", "/_emulator/apps/private-app", {
        "client_secret": "private-secret-private-secret-xx",
        "redirect_uris": ["http://127.0.0.1:8600/cb"],
        "private": True,
    })  # fmt: skip
    refused = call(
        "POST", "/_emulator/oauth/token", {"client_id": "private-app", "user": "outsider1"}
    )
    assert refused.status_code == 403
    assert refused.json() == {"detail": "this application is private to another practice"}
    granted = call("POST", "/_emulator/oauth/token", {"client_id": "private-app", "user": "staff1"})
    assert granted.status_code == 200


ENDPOINTS = [
    ("POST", "/_emulator/clock"),
    ("POST", "/_emulator/tokens/expire"),
    ("POST", "/_emulator/oauth/token"),
    ("PUT", "/_emulator/oauth/auto-approve"),
    ("POST", "/_emulator/faults"),
    ("PUT", "/_emulator/apps/fuzzed-app"),
    ("PUT", f"/_emulator/apps/{DEFAULT_CLIENT_ID}"),
    ("POST", "/_emulator/churn"),
    ("POST", "/_emulator/app-directory/deauthorize"),
    ("PUT", f"/_emulator/webhooks/{DEFAULT_CLIENT_ID}"),
    ("PATCH", "/_emulator/records/tasks/1"),
    ("PATCH", "/_emulator/records/clinical_notes/1"),
    ("DELETE", "/_emulator/records/patient_payments/1"),
    ("POST", "/_emulator/state/save"),
    ("POST", "/_emulator/stats/reset"),
]
FIELDS = [
    "advance", "set", "freeze", "kind", "count", "delay", "probability", "status",
    "retry_after", "client_id", "path", "faults", "user", "scope", "changes", "per_minute",
    "client_secret", "redirect_uris", "private", "rate_limit", "practice_group",
    "iframe_height", "name", "secret", "events", "active", "signature", "timeout",
    "acting_user", "locked", "title", "id", "deletions",
]  # fmt: skip
NUMBERS = [0, -1, 1, 0.5, 2**53, 2**64, 2**70, -(2**70), 1e15, 1e300, -1e300, 5e-324]
scalars = (
    st.none()
    | st.booleans()
    | st.sampled_from(NUMBERS)
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["2030-01-01T00:00:00Z", "error", "slow", "doctor1", "outsider1", "all"])
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
NON_JSON = [b'{"advance": 1e400}', b'{"delay": NaN}', b'{"a": "\\ud800"}', b"[" * 3000, b"{"]


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(NON_JSON) | st.binary(max_size=30))
    body = draw(st.dictionaries(st.sampled_from(FIELDS), values, max_size=5) | values)
    if isinstance(body, dict) and "url" not in body:
        body["url"] = "http://127.0.0.1:9/hook"  # a webhook handshake fails at once, offline
    return json.dumps(body).encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ENDPOINTS), bodies())
def test_nothing_sent_to_the_control_api_gets_a_server_error(
    endpoint: tuple[str, str], body: bytes
) -> None:
    method, url = endpoint
    answer = call(method, url, raw=body)
    assert answer.status_code < 500, (method, url, body[:200], answer.text[:300])
    for path in ("/_emulator/faults", "/_emulator/clock", "/_emulator/stats", "/_emulator/apps"):
        assert call("GET", path).status_code == 200, path
    scripts = faults(STATE).scripts + faults(STATE).deliveries
    assert all(0 <= s.delay <= MAX_DELAY for s in scripts)  # no call can be held forever
    faults(STATE).reset()
