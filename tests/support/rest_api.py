"""Helpers for tests of the emulator's REST side: a seeded state, tokens, an in-process client,
and the catalog's schemas as JSON Schema (OpenAPI `nullable` turned into a null type)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx2
import jsonschema

from chronobridge.catalog import CATALOG, SCOPES
from chronobridge.emulator import EmulatorConfig, EmulatorState, build_state, create_app

BASE = "http://emulator"

# Where DrChrono's document is wrong about a field's type and the emulator follows recorded
# traffic instead (facts §7/§8): rooms are objects, ids are numbers.
DOCUMENT_ERRORS: dict[str, dict[str, Any]] = {
    "Office": {"exam_rooms": {"type": ["array", "null"]}, "doctor": {"type": ["integer", "null"]}},
    "Doctor": {"practice_group": {"type": ["integer", "null"]}},
    # The document's enum for this array is [["string"]], an artefact of its generator.
    "Patient": {"preferred_pharmacies": {"type": ["array", "null"], "items": {"type": "string"}}},
}


def make_state(**overrides: Any) -> EmulatorState:
    """A seeded emulator with a limit high enough that tests never meet the 429."""
    settings: dict[str, Any] = {"patients": 40, "appointments": 200, "rate_limit": 10**9}
    settings.update(overrides)
    return build_state(EmulatorConfig(**settings))


def token(state: EmulatorState, username: str = "doctor1", scopes: Iterable[str] = SCOPES) -> str:
    user = state.user_by_name(username)
    assert user is not None, username
    issued = state.issue_token(
        client_id=state.config.client_id, user_id=user.id, scopes=frozenset(scopes)
    )
    return issued.access_token


@contextlib.asynccontextmanager
async def api(
    state: EmulatorState, username: str = "doctor1", scopes: Iterable[str] = SCOPES
) -> AsyncIterator[httpx2.AsyncClient]:
    """An httpx2 client talking to the emulator in-process as `username`."""
    app = create_app(state=state)
    headers = {"Authorization": f"Bearer {token(state, username, scopes)}"}
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url=BASE, headers=headers) as client:
        yield client


def json_schema(name: str) -> dict[str, Any]:
    """The catalog schema `name` as JSON Schema, with the known document errors corrected."""
    schema = _convert(CATALOG.schemas[name])
    for field, fixed in DOCUMENT_ERRORS.get(name, {}).items():
        schema["properties"][field] = fixed
    return schema


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _convert(v) for k, v in node.items() if k not in ("nullable", "readOnly")}
    if "$ref" in out:
        out = json_schema(out.pop("$ref").rsplit("/", 1)[-1])
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def envelope(name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["previous", "results", "next"],
        "properties": {
            "previous": {"type": ["string", "null"]},
            "results": {"type": "array", "items": json_schema(name)},
            "next": {"type": ["string", "null"]},
        },
    }


def check(instance: Any, schema: dict[str, Any]) -> None:
    jsonschema.validate(instance, schema)


def first_id(state: EmulatorState, table: str, *, practice: int | None = None) -> int:
    for record, meta in state.records.scan(table):
        if practice is None or meta.practice == practice:
            return int(record["id"])
    raise AssertionError(f"nothing seeded in {table}")
