"""A practice's whole journey through the CLI against the emulator over a real socket: the
default app from the environment, `connect` then `call --all` with no other step, a doctor and
a staff member, the App Directory, the budget, key rotation and DrChrono-style deauthorization.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from cli_rig import Cli, Emulator, emulator

from chronobridge.catalog import CATALOG
from chronobridge.emulator._config import DEFAULT_CLIENT_SECRET

PATIENTS = 260  # two pages of 250


def test_connect_then_call_every_patient_with_no_other_step(tmp_path: Path) -> None:
    with emulator(patients=PATIENTS, auto_approve="doctor1") as emu:
        cli = Cli.against(tmp_path / "home", emu.url)
        connected = cli("connect")
        assert connected.code == 0, connected.err
        assert connected.out.startswith("Connected doctor1 (provider")
        listed = cli("call", "GET", "/api/patients", "--all")
        assert listed.code == 0, listed.err
        assert len(json.loads(listed.out)) == PATIENTS
        budget = json.loads(cli("budget", "--format", "json").out)
    (default,) = budget
    pages = math.ceil(PATIENTS / 250)
    assert default["used"] == 3 + pages  # code exchange + users/current (302, then the user)
    assert default["by_priority"]["interactive"] == default["used"]


@pytest.mark.slow
def test_a_doctor_and_a_staff_member_then_deauthorization(tmp_path: Path) -> None:
    with emulator(auto_approve="doctor1") as emu:
        cli = Cli.against(tmp_path / "home", emu.url)
        assert cli("connect").code == 0
        emu.approve_as("staff1")
        staff = cli("connect")
        assert staff.out.startswith("Connected staff1 (staff member of provider"), staff.err
        _directory(cli)
        _calls_as_each_user(cli)
        _budget_views(cli)
        _rotate_keys(cli)
        _deauthorize_the_provider(cli, emu)


def _directory(cli: Cli) -> None:
    rows = json.loads(cli("connections", "list", "--format", "json").out)
    assert [(r["user"], r["role"], r["provider"], r["status"]) for r in rows] == [
        ("doctor1", "doctor", "doctor1", "active"),
        ("staff1", "staff", "doctor1", "active"),
    ]
    table = cli("connections", "list").out.splitlines()
    assert table[0].split() == ["ID", "APP", "USER", "ROLE", "PROVIDER", "STATUS", "SINCE",
                                "LAST", "USED"]  # fmt: skip
    assert cli("connections", "test", "staff1").out.strip() == "OK: staff1 can call DrChrono."


def _calls_as_each_user(cli: Cli) -> None:
    me = json.loads(cli("call", "GET", "/api/users/current", "--connection", "staff1").out)
    assert (me["username"], me["is_staff"]) == ("staff1", True)
    page = json.loads(cli("call", "GET", "patients", "--param", "page_size=5").out)
    assert len(page["results"]) == 5
    assert page["next"]


def _budget_views(cli: Cli) -> None:
    table = cli("budget").out.splitlines()
    assert table[0].split()[:3] == ["APP", "LIMIT/H", "USED"]
    assert table[1].split()[:2] == ["default", "500"]
    prom = cli("budget", "--format", "prom").out
    assert 'chronobridge_budget_limit{app="default"} 500.0' in prom
    assert "chronobridge_budget_used_by_priority" in prom


def _rotate_keys(cli: Cli) -> None:
    before = (cli.home / "keys").read_text()
    rotated = cli("keys", "rotate")
    assert rotated.code == 0, rotated.err
    assert rotated.out.startswith("Re-encrypted ")
    after = (cli.home / "keys").read_text()
    assert after != before
    assert len(after.split()) == 1  # the old key is retired; deauthorizing below decrypts


def _deauthorize_the_provider(cli: Cli, emu: Emulator) -> None:
    done = cli("connections", "deauthorize", "doctor1", "--yes", "--reason", "left")
    assert done.code == 0, done.err
    assert done.out.splitlines()[:2] == [
        "Deauthorized doctor1 and 1 staff connection(s): staff1.",
        "Revoked 4 token(s) at DrChrono.",
    ]
    rows = json.loads(cli("connections", "list", "--format", "json").out)
    assert {r["user"]: r["status"] for r in rows} == {
        "doctor1": "deauthorized",
        "staff1": "deauthorized",
    }
    refused = cli("call", "GET", "/api/users/current", "--connection", "staff1")
    assert refused.error_line() == (
        "Error: The connection of staff1 was deauthorized. Run chronobridge connect and sign "
        "in to DrChrono as staff1."
    )
    assert cli("call", "GET", "/api/doctors").error_line() == (
        "Error: No connection is active (doctor1 was deauthorized, staff1 was deauthorized). "
        "Run chronobridge connect and sign in to DrChrono as doctor1 (or the user to act as)."
    )


def test_apps_actions_and_config_never_print_a_secret(tmp_path: Path) -> None:
    with emulator() as emu:
        cli = Cli.against(tmp_path / "home", emu.url, CHRONOBRIDGE_WEBHOOK_SECRET="hook-s3cret-x")
        added = cli(
            "apps", "add", "--name", "second", "--client-id", "second-client",
            "--redirect-uri", "http://127.0.0.1:8600/oauth/callback", "--scopes",
            "patients:read,calendar:read", "--rate-limit", "120", stdin="typed-s3cret-value\n",
        )  # fmt: skip
        assert added.code == 0, added.err
        assert "Registered application second (client id second-client)." in added.out
        listed = cli("apps", "list", "--format", "json")
        shown = cli("apps", "list").out + listed.out + cli("config", "show").out
    apps = {a["name"]: a for a in json.loads(listed.out)}
    assert apps["second"]["scopes"] == ["patients:read", "calendar:read"]
    assert apps["second"]["rate_limit"] == 120
    assert apps["default"]["webhook_secret"] == "set"
    for secret in ("typed-s3cret-value", DEFAULT_CLIENT_SECRET, "hook-s3cret-x"):
        assert secret not in shown + added.out
    assert "(set, hidden)" in shown
    actions = json.loads(Cli(tmp_path)("actions", "list", "--format", "json").out)
    assert len(actions) == len(CATALOG.operations)
    assert set(actions[0]) == {"name", "resource", "operation", "method", "path", "scopes",
                               "input_schema"}  # fmt: skip


@pytest.mark.parametrize("db_kind", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_same_with_postgresql_from_the_environment(tmp_path: Path, database_url: str) -> None:
    with emulator(patients=PATIENTS, auto_approve="staff1") as emu:
        cli = Cli.against(tmp_path / "home", emu.url, CHRONOBRIDGE_DATABASE_URL=database_url)
        assert cli("connect").out.startswith("Connected staff1 (staff member")
        listed = cli("call", "GET", "/api/patients", "--all")
    assert len(json.loads(listed.out)) == PATIENTS
    assert not (tmp_path / "home" / "hub.sqlite").exists()
