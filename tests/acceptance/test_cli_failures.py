"""Every failure a user can cause while connecting ends in one sentence that names the fix and a
non-zero exit code, never a traceback: each one over a real socket against the emulator."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from cli_rig import Cli, emulator

from chronobridge.emulator._config import DEFAULT_CLIENT_ID
from support.servers import free_port


def test_a_wrong_client_id(tmp_path: Path) -> None:
    with emulator(auto_approve="doctor1") as emu:
        line = Cli.against(tmp_path, emu.url)("connect", CHRONOBRIDGE_CLIENT_ID="no-such-app")
    assert line.error_line() == (
        "Error: DrChrono does not know the client id no-such-app. Copy the client id from "
        "DrChrono's API page: set CHRONOBRIDGE_CLIENT_ID."
    )


def test_a_wrong_client_secret(tmp_path: Path) -> None:
    with emulator(auto_approve="doctor1") as emu:
        result = Cli.against(tmp_path, emu.url)("connect", CHRONOBRIDGE_CLIENT_SECRET="wrong-one")
    assert result.error_line() == (
        "Error: DrChrono refused the client id or client secret of application 'default'. Copy "
        "the client id and secret again from DrChrono's API page into CHRONOBRIDGE_CLIENT_ID and "
        "CHRONOBRIDGE_CLIENT_SECRET."
    )
    assert "wrong-one" not in result.both


def test_an_unregistered_redirect_uri(tmp_path: Path) -> None:
    with emulator(auto_approve="doctor1") as emu:
        uri = "http://127.0.0.1:9/elsewhere"
        result = Cli.against(tmp_path, emu.url)("connect", CHRONOBRIDGE_REDIRECT_URI=uri)
    assert result.error_line() == (
        f"Error: DrChrono refused the redirect URI {uri}: it is not registered for client id "
        f"{DEFAULT_CLIENT_ID}. Register that exact URI on DrChrono's API page, or set "
        "CHRONOBRIDGE_REDIRECT_URI with one that is."
    )


def test_a_missing_scope_is_named_with_the_command_that_grants_it(tmp_path: Path) -> None:
    with emulator(auto_approve="doctor1") as emu:
        cli = Cli.against(tmp_path, emu.url)
        assert cli("connect", "--scope", "patients:read").code == 0
        refused = cli("call", "GET", "/api/appointments", "--param", "since=2020-01-01")
        line = refused.error_line()
    assert line == (
        "Error: DrChrono refused: the connection of doctor1 lacks the scope this call needs (one "
        "of calendar:read, calendar:write, clinical:read, clinical:write; it was granted "
        "patients:read, user:read) (GET /api/appointments -> 403). Run chronobridge connect "
        "--scope patients:read,user:read,calendar:read and sign in as doctor1."
    )


def test_drchrono_unreachable(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = Cli.against(tmp_path, url)("connect")
    assert result.error_line() == (
        f"Error: DrChrono could not be reached at {url} (GET /o/authorize/: ConnectError). "
        "Check the network and the DrChrono URL (CHRONOBRIDGE_DRCHRONO_URL), then try again."
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/o/token/", "Error: DrChrono answered the authorization code with a server error "
         "(POST /o/token/ -> 502). DrChrono is having trouble; try again in a few minutes."),
        ("/api/", "Error: DrChrono answered the request for the connecting user with a server "
         "error (GET /api/users/current -> 502). DrChrono is having trouble; try chronobridge "
         "connect again in a few minutes."),
    ],
)  # fmt: skip
def test_drchrono_answering_5xx(tmp_path: Path, path: str, expected: str) -> None:
    with emulator(auto_approve="doctor1") as emu:
        emu.control("POST", "/_emulator/faults", {"kind": "error", "status": 502, "path": path})
        result = Cli.against(tmp_path, emu.url)("connect")
        tokens = [t for t in emu.state.tokens.values() if not t.revoked]
    assert result.error_line() == expected
    assert tokens == []  # tokens whose owner could not be learned are revoked, not left live


def test_an_expired_code_and_a_reused_callback(tmp_path: Path) -> None:
    with emulator(auto_approve="doctor1") as emu:
        cli = Cli.against(tmp_path, emu.url)
        landed = _approved(cli)
        emu.control("POST", "/_emulator/clock", {"advance": 61})
        expired = cli("connect", "--complete", landed)
        landed = _approved(cli)
        assert cli("connect", "--complete", landed).code == 0
        reused = cli("connect", "--complete", landed)
    assert expired.error_line() == (
        "Error: DrChrono refused the authorization code: it expired or was already used. Run "
        "chronobridge connect again and finish the authorization within a minute."
    )
    assert reused.error_line() == (
        "Error: The authorization callback does not belong to a flow this hub started. Start "
        "again with chronobridge connect; each authorization link works once."
    )


def test_denied_consent_in_the_browser(tmp_path: Path) -> None:
    with _browser_flow(tmp_path, allow="Cancel") as result:
        pass
    assert result.error_line() == (
        "Error: The DrChrono user declined to authorize the application. Run chronobridge "
        "connect again and choose Authorize on DrChrono's page."
    )


def test_consent_in_the_browser_completes_on_the_local_callback(tmp_path: Path) -> None:
    with _browser_flow(tmp_path, allow="Authorize", username="staff2") as result:
        pass
    assert result.code == 0, result.err
    assert "Connected staff2 (staff member of provider" in result.out


def _approved(cli: Cli) -> str:
    """Start with --print-url, approve like a browser would, return where DrChrono sent it."""
    started = cli("connect", "--print-url")
    assert started.code == 0, started.err
    answer = httpx2.get(started.out.strip(), follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


class _browser_flow:
    """`connect --no-browser` waits on a local listener; the test plays the browser."""

    def __init__(self, home: Path, *, allow: str, username: str = "doctor1") -> None:
        self.home, self.allow, self.username = home, allow, username

    def __enter__(self) -> object:
        redirect = f"http://127.0.0.1:{free_port()}/oauth/callback"
        with emulator(redirect_uris=(redirect,)) as emu:
            cli = Cli.against(self.home, emu.url, CHRONOBRIDGE_REDIRECT_URI=redirect)
            process = cli.start("connect", "--no-browser", "--timeout", "60")
            try:
                url = _printed_url(process)
                form = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
                form.update(username=self.username, allow=self.allow)
                page = httpx2.post(f"{emu.url}/o/authorize/", data=form, follow_redirects=False)
                landed = httpx2.get(page.headers["location"])  # the browser follows to us
                assert "You can close this window" in landed.text
                out, err = process.communicate(timeout=60)
            finally:
                if process.poll() is None:
                    process.kill()
        from cli_rig import Result

        return Result(process.returncode, out, err)

    def __exit__(self, *exc: object) -> None:
        return None


def _printed_url(process: object) -> str:
    stdout = process.stdout  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = stdout.readline()
        if line.strip().startswith("http"):
            return str(line.strip())
        assert line, "connect ended before printing the URL"
    raise AssertionError("no authorize URL printed")
