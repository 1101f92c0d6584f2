"""`chronobridge apps update | remove` as a user runs them against the emulator: a wrong secret
or redirect URI of an application from `apps add` is fixed from the CLI, each error naming the
command for the application at hand (an environment variable for the environment's own); an
application is removed only when nothing is left active, with an audit row."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cli_rig import Cli, Emulator, emulator

from chronobridge.settings import Settings
from chronobridge.store import AuditLog, open_database

CLIENT = "second-client"
SECRET = "second-client-secret-0123456789abcdef"
REDIRECT = "http://127.0.0.1:8600/oauth/callback"
OTHER_REDIRECT = "http://127.0.0.1:8611/oauth/callback"


def _register_at_drchrono(emu: Emulator) -> None:
    emu.control("PUT", f"/_emulator/apps/{CLIENT}", {
        "client_secret": SECRET, "name": "second", "redirect_uris": [REDIRECT],
    })  # fmt: skip


def _add(cli: Cli, emu: Emulator, *, secret: str, redirect: str) -> None:
    added = cli("apps", "add", "--name", "second", "--client-id", CLIENT, "--client-secret",
                secret, "--redirect-uri", redirect, "--drchrono-url", emu.url)  # fmt: skip
    assert added.code == 0, added.err


def _audit_actions(home: Path) -> list[str]:
    async def read() -> list[str]:
        db = await open_database(Settings(home=home))
        try:
            return [r.action for r in await AuditLog(db).recent(target_type="app")]
        finally:
            await db.close()

    return asyncio.run(read())


def test_a_wrong_secret_and_redirect_uri_are_fixed_with_apps_update(tmp_path: Path) -> None:
    with emulator(auto_approve="doctor1") as emu:
        _register_at_drchrono(emu)
        cli = Cli(tmp_path / "home")
        _add(cli, emu, secret="a-wrong-secret", redirect=OTHER_REDIRECT)
        redirect = cli("connect", "--app", "second").error_line()
        assert redirect.endswith(
            "Register that exact URI on DrChrono's API page, or run chronobridge apps update "
            "second --redirect-uri URI with one that is."
        ), redirect
        fixed = cli("apps", "update", "second", "--redirect-uri", REDIRECT)
        assert fixed.out.strip() == "Updated application second: redirect_uris."
        secret = cli("connect", "--app", "second").error_line()
        assert secret.endswith(
            "Copy the client secret again from DrChrono's API page and run chronobridge apps "
            f"update second --client-secret SECRET (the client id there must be {CLIENT})."
        ), secret
        updated = cli("apps", "update", "second", "--client-secret", "-", stdin=f"{SECRET}\n")
        assert updated.out.strip().endswith("Updated application second: client_secret.")
        connected = cli("connect", "--app", "second")
        assert connected.code == 0, connected.err
        assert SECRET not in updated.both + connected.both
    assert _audit_actions(tmp_path / "home") == ["app.update", "app.update"]


def test_the_environments_application_is_fixed_in_the_environment(tmp_path: Path) -> None:
    with emulator(auto_approve="doctor1") as emu:
        cli = Cli.against(tmp_path / "home", emu.url, CHRONOBRIDGE_CLIENT_SECRET="a-wrong-one")
        refused = cli("connect").error_line()
        assert refused.endswith(
            "Copy the client id and secret again from DrChrono's API page into "
            "CHRONOBRIDGE_CLIENT_ID and CHRONOBRIDGE_CLIENT_SECRET."
        ), refused
        update = cli("apps", "update", "default", "--client-secret", "x").error_line()
        assert update == (
            "Error: Application 'default' takes its client_secret from the environment. Change "
            "CHRONOBRIDGE_CLIENT_SECRET instead; the next command registers the new value."
        )
        renamed = cli("apps", "update", "default", "--name", "main", "--rate-limit", "250")
        assert renamed.out.strip() == "Updated application main: name, rate_limit."
        remove = cli("apps", "remove", "main", "--yes").error_line()
        assert "comes from CHRONOBRIDGE_CLIENT_ID" in remove
        duplicate = cli("apps", "add", "--name", "again", "--client-id", "demo-client-id",
                        "--client-secret", "s").error_line()  # fmt: skip
        assert duplicate == (
            "Error: An application with client id demo-client-id exists ('main'). It is the "
            "application CHRONOBRIDGE_CLIENT_ID describes: change its settings in the "
            "environment (chronobridge apps update changes its name, limit and iframes)."
        )


def test_remove_refuses_while_a_connection_is_active_then_deauthorizes(tmp_path: Path) -> None:
    with emulator(auto_approve="doctor1") as emu:
        _register_at_drchrono(emu)
        cli = Cli(tmp_path / "home")
        _add(cli, emu, secret=SECRET, redirect=REDIRECT)
        assert cli("connect", "--app", "second").code == 0
        duplicate = cli("apps", "add", "--name", "third", "--client-id", CLIENT,
                        "--client-secret", "s").error_line()  # fmt: skip
        assert duplicate.endswith(
            "Change its settings with chronobridge apps update second (e.g. --client-secret), "
            "or remove it first: chronobridge apps remove second."
        )
        active = cli("apps", "remove", "second", "--yes").error_line()
        assert active == (
            "Error: Application 'second' has 1 active connection(s): doctor1. Deauthorize them "
            "first (chronobridge connections deauthorize NAME), or pass --deauthorize to revoke "
            "them all and remove the application."
        )
        unasked = cli("apps", "remove", "second", "--deauthorize").error_line()
        assert unasked == (
            "Error: No terminal to confirm the removal. Pass --yes to remove without a question."
        )
        removed = cli("apps", "remove", "second", "--deauthorize", "--yes")
        assert removed.out.strip() == "Removed application second and its 1 connection(s).", (
            removed.err
        )
        assert cli("apps", "list", "--format", "json").out.strip() == "[]"
    assert _audit_actions(tmp_path / "home") == ["app.remove"]


def test_apps_add_without_a_terminal_names_the_option(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home")
    missing = cli("apps", "add", "--name", "n", "--client-id", "c", stdin="")
    assert missing.error_line() == (
        "Error: No client secret was given and there is no terminal to ask for it. Pass "
        "--client-secret VALUE (or pipe it on stdin)."
    )
