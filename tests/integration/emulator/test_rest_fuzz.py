"""Property: whatever arrives at /api (bodies, parameters, ids, content types), the emulator
answers with a client error or a success, never a 500."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chronobridge.catalog import CATALOG, Operation
from chronobridge.emulator import create_app
from support.rest_api import BASE, make_state, token

STATE = make_state(patients=20, appointments=60)
APP = create_app(state=STATE)
HEADERS = {"Authorization": f"Bearer {token(STATE)}"}

# Values at the edges of the calendar, of cursors and of integers, which random text rarely hits.
EDGES = [
    "2024-02-30", "2024-01-01T25:00", "1/2/2024", "", "0", "-1", "true", "Male",
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "0001-01-01", "9999-12-31",
    "0001-01-01/9999-12-31", "cDA", "bjA", "99999999999999999999", "12/31/9999",
]  # fmt: skip
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(EDGES)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def field_names(op: Operation) -> list[str]:
    schema = CATALOG.schemas.get(op.body_schema or op.schema or "", {})
    return [*schema.get("properties", {}), *(p.name for p in op.params), "id", "cursor"]


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(st.sampled_from(CATALOG.operations))
    names = field_names(op)
    key = st.sampled_from(names) | st.text(max_size=8)
    segment = st.text(
        st.characters(min_codepoint=33, max_codepoint=0x2FFF, exclude_characters="/?#%\x7f"),
        max_size=8,
    )
    raw_id = draw(st.sampled_from(["86800001", "143400001", "301001", "1"]) | segment)
    path = op.path.replace("{id}", raw_id or "0")
    values = st.text(max_size=20) | st.integers().map(str) | st.sampled_from(EDGES)
    query = draw(st.dictionaries(key, values, max_size=4))
    body = draw(st.dictionaries(key, json_values, max_size=6) | json_values)
    shape = draw(st.sampled_from(["json", "form", "raw"]))
    request: dict[str, Any] = {"method": op.method, "url": path, "params": query}
    if shape == "json":
        request["content"] = json.dumps(body)
        request["headers"] = {"content-type": "application/json"}
    elif shape == "form" and isinstance(body, dict):
        request["data"] = {k: str(v) for k, v in body.items()}
    else:
        request["content"] = draw(st.binary(max_size=64))
        request["headers"] = {"content-type": draw(st.sampled_from(
            ["application/json", "multipart/form-data", "multipart/form-data; boundary=x",
             "application/x-www-form-urlencoded", "text/plain", ""]
        ))}  # fmt: skip
    return request


async def send(request: dict[str, Any]) -> httpx2.Response:
    transport = httpx2.ASGITransport(app=APP)
    async with httpx2.AsyncClient(transport=transport, base_url=BASE, headers=HEADERS) as client:
        headers = {**HEADERS, **request.pop("headers", {})}
        return await client.request(**request, headers=headers)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_random_requests_never_produce_a_server_error(request: dict[str, Any]) -> None:
    response = asyncio.run(send(dict(request)))
    assert response.status_code < 500, (request, response.text[:300])
