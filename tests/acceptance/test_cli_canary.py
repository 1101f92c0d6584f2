"""Canaries through the CLI: a fake access token, refresh token, client secret and patient name
pushed through the command line's error paths never appear in its output (stdout, stderr, with
or without --debug logs) nor in plaintext anywhere in the SQLite file it writes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cli_rig import Cli, Emulator, Result, emulator

from chronobridge.settings import Settings
from chronobridge.store import Apps, Connections, Identity, Role, TokenPair, open_database

ACCESS = "canary-access-c3a9e1"
REFRESH = "canary-refresh-7d20f4"
SECRET = "canary-client-secret-0b5e4f8a1c2d3e4f"
PATIENT = "Zebulon Canaryfield"
CANARIES = (ACCESS, REFRESH, SECRET, PATIENT, "Canaryfield")
CLIENT = "canary-client"
REDIRECT = "http://127.0.0.1:8600/oauth/callback"


def _plant_tokens(home: Path) -> None:
    """Give doctor1 a connection holding the canary tokens (DrChrono never issued them)."""

    async def plant() -> None:
        db = await open_database(Settings(home=home))
        try:
            app = await Apps(db).by_client_id(CLIENT)
            assert app is not None
            who = Identity(drchrono_user_id=1001, username="doctor1", role=Role.DOCTOR,
                           doctor_id=1)  # fmt: skip
            pair = TokenPair(access_token=ACCESS, refresh_token=REFRESH,
                             expires_at=datetime.now(UTC) + timedelta(hours=40))  # fmt: skip
            await Connections(db).connect(app.id, who, pair, scopes=())
        finally:
            await db.close()

    asyncio.run(plant())


def _run_error_paths(cli: Cli, emu: Emulator) -> list[Result]:
    runs = [cli("apps", "add", "--name", "canary", "--client-id", CLIENT, "--client-secret",
                SECRET, "--redirect-uri", REDIRECT, "--drchrono-url", emu.url)]  # fmt: skip
    runs.append(cli("connect", "--app", "canary"))  # the emulator knows another secret
    emu.control("PUT", f"/_emulator/apps/{CLIENT}", {"client_secret": SECRET})
    _plant_tokens(cli.home)  # refresh: invalid_grant
    runs.append(cli("--debug", "call", "GET", "/api/patients", "--param", f"last_name={PATIENT}"))
    _plant_tokens(cli.home)
    emu.control("POST", "/_emulator/faults", {"kind": "error", "path": "/o/token/"})
    runs.append(cli("call", "GET", "/api/patients", "--json", f'{{"n": "{PATIENT}"'))  # bad JSON
    runs.append(cli("call", "GET", f"/api/{PATIENT}/{ACCESS}"))
    runs.append(cli("--debug", "call", "GET", "/api/patients", "--param", f"q={PATIENT}"))
    _plant_tokens(cli.home)
    runs.append(cli("connections", "deauthorize", "doctor1", "--yes", "--app", "canary"))
    return runs


def test_no_canary_in_cli_output_or_the_database_file(tmp_path: Path) -> None:
    with emulator(auto_approve="doctor1") as emu:
        emu.control("PUT", f"/_emulator/apps/{CLIENT}", {
            "client_secret": "the-emulators-own-secret-for-this-app", "name": "canary",
            "redirect_uris": [REDIRECT],
        })  # fmt: skip
        cli = Cli(tmp_path / "home")
        runs = _run_error_paths(cli, emu)
    assert [r.code for r in runs] == [0, 1, 1, 1, 1, 1, 0]
    for run in runs[1:-1]:
        assert "Traceback" not in run.both
        assert run.err.splitlines()[-1].startswith("Error: ")
    leaked = [(i, c) for i, run in enumerate(runs) for c in CANARIES if c in run.both]
    assert leaked == []
    stored = b"".join(p.read_bytes() for p in (tmp_path / "home").glob("hub.sqlite*"))
    assert [c for c in CANARIES if c.encode() in stored] == []


def test_debug_connect_logs_neither_state_nor_code(tmp_path: Path) -> None:
    """The authorize URL (state, PKCE challenge) and DrChrono's redirect (code, state) stay
    out of --debug logs: the log filter is on before the first request of any command."""
    with emulator(auto_approve="doctor1") as emu:
        emu.control("PUT", f"/_emulator/apps/{CLIENT}", {
            "client_secret": SECRET, "name": "canary", "redirect_uris": [REDIRECT],
        })  # fmt: skip
        cli = Cli(tmp_path / "home")
        added = cli("apps", "add", "--name", "canary", "--client-id", CLIENT, "--client-secret",
                    SECRET, "--redirect-uri", REDIRECT, "--drchrono-url", emu.url)  # fmt: skip
        assert added.code == 0, added.err
        connected = cli("--debug", "connect", "--app", "canary")
    assert connected.code == 0, connected.err
    assert "HTTP Request: GET" in connected.err  # the debug log is on, and shows the paths
    for leak in ("state=", "code=", "code_challenge", SECRET, "client_secret"):
        assert leak not in connected.both, leak
