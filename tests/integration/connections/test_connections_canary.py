"""Canaries: a fake access token, refresh token, client secret and patient name pushed through
every error path of the connection code never appear in logs, exception texts (tracebacks
included) or the store in plaintext (every column of every table, and SQLite's raw bytes).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from connections_rig import EMULATOR, Rig

from chronobridge.connections import (
    Callback,
    TokenEndpoint,
    call_once,
    complete_authorization,
    deauthorize,
    open_client,
    parse_body,
    resolve,
    start_authorization,
)
from chronobridge.emulator._config import DEFAULT_REDIRECT_URI
from chronobridge.errors import HubError
from chronobridge.store import (
    App,
    Apps,
    AppSpec,
    Connection,
    Connections,
    Identity,
    Role,
    TokenPair,
)

ACCESS = "canary-access-3f9a1c77"
REFRESH = "canary-refresh-9be20d41"
SECRET = "canary-client-secret-5d1e8a0b2c4f6a8e"
PATIENT = "Zebulon Canaryfield"
CANARIES = (ACCESS, REFRESH, SECRET, PATIENT, "Canaryfield")
CLIENT = "canary-client"

Step = Callable[[Rig, App], Awaitable[object]]


async def _canary_app(rig: Rig) -> App:
    body = {"client_secret": SECRET, "name": "canary", "redirect_uris": [DEFAULT_REDIRECT_URI]}
    await rig.emulator("PUT", f"/_emulator/apps/{CLIENT}", body)
    spec = AppSpec(name="canary", client_id=CLIENT, client_secret=SECRET,
                   redirect_uris=(DEFAULT_REDIRECT_URI,), drchrono_url=EMULATOR)  # fmt: skip
    return await Apps(rig.services.db).create(spec)


async def _planted(rig: Rig, app: App) -> Connection:
    """A connection holding the canary tokens (DrChrono does not know them)."""
    identity = Identity(drchrono_user_id=1001, username="doctor1", role=Role.DOCTOR, doctor_id=1)
    pair = TokenPair(access_token=ACCESS, refresh_token=REFRESH,
                     expires_at=datetime.now(UTC) + timedelta(hours=40))  # fmt: skip
    return await Connections(rig.services.db).connect(app.id, identity, pair, scopes=())


async def _refresh_refused(rig: Rig, app: App) -> object:
    connection = await _planted(rig, app)
    async with await open_client(rig.services, connection) as client:
        return await client.call("patients_list", params={"last_name": PATIENT})


async def _refresh_unreachable(rig: Rig, app: App) -> object:
    connection = await _planted(rig, app)
    rig.spy.down = True
    try:
        async with await open_client(rig.services, connection) as client:
            return await client.call("patients_list", params={"last_name": PATIENT})
    finally:
        rig.spy.down = False


async def _refresh_server_error(rig: Rig, app: App) -> object:
    await rig.emulator("POST", "/_emulator/faults", {"kind": "error", "path": "/o/token/"})
    return await _refresh_refused(rig, app)


async def _refresh_throttled(rig: Rig, app: App) -> object:
    fault = {"kind": "throttle", "path": "/o/token/", "retry_after": 1}
    await rig.emulator("POST", "/_emulator/faults", fault)
    return await _refresh_refused(rig, app)


async def _wrong_secret(rig: Rig, app: App) -> object:
    await rig.emulator("PUT", f"/_emulator/apps/{CLIENT}", {"client_secret": "another-secret-x"})
    try:
        return await TokenEndpoint(rig.services, app).refresh(REFRESH, observer=None)
    finally:
        await rig.emulator("PUT", f"/_emulator/apps/{CLIENT}", {"client_secret": SECRET})


async def _bad_code(rig: Rig, app: App) -> object:
    start = await start_authorization(rig.services, app)
    callback = Callback(state=start.request.state, code=f"{ACCESS}{PATIENT}")
    return await complete_authorization(rig.services, callback)


async def _revoke_unreachable(rig: Rig, app: App) -> object:
    connection = await _planted(rig, app)
    rig.spy.down = True
    try:
        return await deauthorize(rig.services, connection.id, actor="test", reason="canary")
    finally:
        rig.spy.down = False


async def _patient_in_a_bad_body(rig: Rig, app: App) -> object:
    connection = await rig.connect("doctor1")
    first, last = PATIENT.split()
    body = {"first_name": first, "last_name": last, "gender": PATIENT}
    async with await open_client(rig.services, connection) as client:
        return await call_once(client, resolve("POST", "/api/patients"), params={}, body=body)


async def _patient_in_bad_json(rig: Rig, app: App) -> object:
    return parse_body(f'{{"last_name": "{PATIENT}", "token": {ACCESS}')


async def _patient_in_a_path(rig: Rig, app: App) -> object:
    return resolve("GET", f"/api/{PATIENT}/{ACCESS}")


STEPS: list[Step] = [
    _refresh_refused,
    _refresh_unreachable,
    _refresh_server_error,
    _refresh_throttled,
    _wrong_secret,
    _bad_code,
    _revoke_unreachable,
    _patient_in_a_bad_body,
    _patient_in_bad_json,
    _patient_in_a_path,
]


def _leaks(text: str) -> list[str]:
    return [canary for canary in CANARIES if canary in text]


async def test_canaries_never_leak_from_any_error_path(
    rig: Rig, caplog: pytest.LogCaptureFixture, database_url: str
) -> None:
    caplog.set_level(logging.DEBUG)
    app = await _canary_app(rig)
    failures = 0
    for step in STEPS:
        try:
            await step(rig, app)
        except HubError as error:
            failures += 1
            text = "".join(traceback.format_exception(error)) + repr(error) + error.hint
            assert _leaks(text) == [], (step.__name__, text)
    assert failures == len(STEPS) - 1  # the revocation failure is reported, not raised
    assert _leaks(caplog.text) == []
    assert _leaks(await _every_stored_value(rig)) == []
    if database_url.startswith("sqlite"):
        assert _leaks(_raw_bytes(database_url)) == []


async def _every_stored_value(rig: Rig) -> str:
    """Every row of every table in the database, whoever's table it is."""
    seen = []
    async with rig.services.db.read() as conn:
        names = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        for name in names:
            rows = (await conn.execute(sa.text(f'SELECT * FROM "{name}"'))).all()  # noqa: S608
            seen.extend(repr(tuple(row)) for row in rows)
    assert "tokens" in names
    return "\n".join(seen)


def _raw_bytes(database_url: str) -> str:
    path = Path(database_url.split("///", 1)[1])
    files = [path, path.with_name(path.name + "-wal")]
    return "".join(f.read_bytes().decode("latin-1") for f in files if f.exists())
