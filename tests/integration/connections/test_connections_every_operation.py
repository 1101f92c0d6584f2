"""Every catalog operation is callable through the hub: `resolve` finds it from METHOD and a
concrete path, and the connection's client (store tokens, shared budget, API log) sends it.

The valid request for each operation (ids, bodies, required filters) comes from the emulator's
contract test, so both suites agree on what "a valid call" is. Every write gets an emulator of
its own, so that it cannot change what the next operation finds; reads share one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest

from chronobridge.catalog import CATALOG, SCOPES, Kind, Operation
from chronobridge.connections import Services, call_once, open_client, resolve
from chronobridge.emulator import EmulatorState, create_app
from chronobridge.emulator._config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
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


@pytest.mark.parametrize("db_kind", ["sqlite"])
async def test_every_catalog_operation_is_callable_through_a_connection(
    database: Database, tmp_path: Path
) -> None:
    app = await Apps(database).create(
        AppSpec(name="emu", client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET,
                redirect_uris=("http://127.0.0.1:8600/oauth/callback",), drchrono_url=BASE,
                rate_limit=1_000_000)
    )  # fmt: skip
    failures: list[str] = []
    shared = make_state(patients=10, appointments=30)  # reads do not change it
    for op in CATALOG.operations:
        state = shared if op.is_read else make_state(patients=10, appointments=30)
        services = Services(
            db=database, transport=httpx2.ASGITransport(app=create_app(state=state))
        )
        connection = await _connect(database, app.id, state)
        try:
            await _call(services, connection, state, op, tmp_path)
        except Exception as exc:  # collect every failure, report them together
            failures.append(f"{op.name}: {type(exc).__name__}: {exc}")
    assert failures == []


async def _connect(db: Database, app_id: int, state: EmulatorState) -> int:
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
    connection = await Connections(db).connect(app_id, identity, pair, scopes=())
    return connection.id


async def _call(
    services: Services, connection_id: int, state: EmulatorState, op: Operation, folder: Path
) -> None:
    async with await open_client(services, connection_id) as client:
        if op.kind is Kind.BATCH_FETCH:
            submitted = await client.request("POST", op.path)
            target = resolve(op.method, op.path)
            await call_once(client, target, params={"uuid": submitted["uuid"]})
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
