"""Every catalog operation is callable through the hub: `resolve` finds it from METHOD and a
concrete path, and the connection's client (store tokens, shared budget, API log) sends it.

The valid request for each operation (ids, bodies, required filters) comes from the emulator's
contract test, so both suites agree on what "a valid call" is. One connection's client sends
them all; the writes of each resource get an emulator of their own (which knows the
connection's token), so that they cannot change what another resource's operations find.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx2
import pytest

from chronobridge.catalog import CATALOG, SCOPES, Kind, Operation
from chronobridge.client import DrChronoClient
from chronobridge.connections import Services, call_once, open_client, resolve
from chronobridge.emulator import EmulatorState, create_app
from chronobridge.emulator._config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from chronobridge.emulator._state import Token
from chronobridge.store import Apps, AppSpec, Connections, Database, Identity, Role, TokenPair
from contract.test_emulator_operations import request_for
from support.rest_api import make_state

BASE = "http://emulator.test"


def _files(request: dict[str, Any], folder: Path) -> dict[str, Path]:
    out = {}
    for name, (filename, content, _media) in (request.get("files") or {}).items():
        path = folder / filename
        path.write_bytes(content)
        out[name] = path
    return out


class Swappable(httpx2.AsyncBaseTransport):
    """One client for every operation; the emulator behind it can be replaced."""

    def __init__(self, state: EmulatorState) -> None:
        self.use(state)

    def use(self, state: EmulatorState) -> None:
        self.inner = httpx2.ASGITransport(app=create_app(state=state))

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return await self.inner.handle_async_request(request)


@pytest.mark.parametrize("db_kind", ["sqlite"])
async def test_every_catalog_operation_is_callable_through_a_connection(
    database: Database, tmp_path: Path
) -> None:
    shared = make_state(patients=10, appointments=30)  # reads do not change it
    transport = Swappable(shared)
    services = Services(db=database, transport=transport)
    token, connection = await _connect(database, shared)
    failures: list[str] = []
    async with await open_client(services, connection) as client:
        for ops in _groups():
            state = shared if ops[0].is_read else _fresh(token)
            transport.use(state)
            for op in ops:
                try:
                    await _call(client, state, op, tmp_path)
                except Exception as exc:  # collect every failure, report them together
                    failures.append(f"{op.name}: {type(exc).__name__}: {exc}")
    assert failures == [], "\n".join(failures)


def _groups() -> list[list[Operation]]:
    """Every read in one group; the writes of each resource in a group of their own, deletes
    last, so that no write removes what the next one works on. Appointment writes each get
    their own: the valid bodies book the same slot, and a second booking overlaps the first."""
    reads = [op for op in CATALOG.operations if op.is_read]
    writes: dict[str, list[Operation]] = {}
    for op in CATALOG.operations:
        if not op.is_read:
            key = op.name if op.resource.startswith("appointments") else op.resource
            writes.setdefault(key, []).append(op)
    ordered = [sorted(ops, key=lambda op: op.kind is Kind.DELETE) for ops in writes.values()]
    return [reads, *ordered]


def _fresh(token: Token) -> EmulatorState:
    """A new emulator for a write, which knows the connection's token already."""
    state = make_state(patients=10, appointments=30)
    state.tokens[token.access_token] = replace(token)
    state.refresh_index[token.refresh_token] = token.access_token
    return state


async def _connect(db: Database, state: EmulatorState) -> tuple[Token, int]:
    app = await Apps(db).create(
        AppSpec(name="emu", client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET,
                redirect_uris=("http://127.0.0.1:8600/oauth/callback",), drchrono_url=BASE,
                rate_limit=1_000_000)
    )  # fmt: skip
    user = state.user_by_name("doctor1")
    assert user is not None
    token = state.issue_token(
        client_id=DEFAULT_CLIENT_ID, user_id=user.id, scopes=frozenset(SCOPES)
    )
    identity = Identity(
        drchrono_user_id=user.id, username=user.username, role=Role.DOCTOR, doctor_id=user.doctor
    )
    pair = TokenPair(
        access_token=token.access_token, refresh_token=token.refresh_token,
        expires_at=token.expires_at,
    )  # fmt: skip
    connection = await Connections(db).connect(app.id, identity, pair, scopes=SCOPES)
    return token, connection.id


async def _call(client: DrChronoClient, state: EmulatorState, op: Operation, folder: Path) -> None:
    if op.kind is Kind.BATCH_FETCH:
        submitted = await client.request("POST", op.path)
        await call_once(client, resolve(op.method, op.path), params={"uuid": submitted["uuid"]})
        return
    request = request_for(state, op)
    target = resolve(request["method"], request["url"])
    assert target.operation == op, target.operation.name
    await call_once(
        client,
        target,
        params=request.get("params") or {},
        body=request.get("json"),
        form=request.get("data"),
        files=_files(request, folder),
    )
