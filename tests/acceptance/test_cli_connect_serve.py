"""`chronobridge connect` while `chronobridge serve` holds the redirect URI's port (the README's
setup: serve on the default redirect URI), over real sockets: the URL is printed, serve's
/oauth/callback completes the flow, and connect reports the connection it finds in the store.
A port held by another hub's serve, or by anything else, ends in one sentence saying what to do.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx2
from cli_rig import Cli, Emulator, emulator

from chronobridge.emulator._config import DEFAULT_CLIENT_ID
from support.servers import free_port


def _redirect_to(emu: Emulator, port: int) -> str:
    uri = f"http://127.0.0.1:{port}/oauth/callback"
    emu.control("PUT", f"/_emulator/apps/{DEFAULT_CLIENT_ID}", {"redirect_uris": [uri]})
    return uri


class Output:
    """A running command's stdout, read line by line by a thread while it keeps running."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line)
            self._new.put(line)

    def first(self, prefix: str) -> str:
        while not (line := self._new.get(timeout=120).strip()).startswith(prefix):
            pass
        return line

    def all(self) -> str:
        self._thread.join(timeout=120)
        return "".join(self.lines)


def test_connect_lets_serve_on_the_redirect_port_complete_the_flow(tmp_path: Path) -> None:
    with emulator() as emu:  # no auto-approve: a person must consent in a browser
        port = free_port()
        cli = Cli.against(tmp_path / "home", emu.url,
                          CHRONOBRIDGE_REDIRECT_URI=_redirect_to(emu, port))  # fmt: skip
        with cli.serving(port, "--no-worker"):
            connect = cli.start("connect", "--no-browser", "--timeout", "90")
            output = Output(connect)
            try:
                url = output.first("http")
                emu.approve_as("doctor1")  # the person presses Authorize
                landed = httpx2.get(url, follow_redirects=True, timeout=30)
                connect.wait(timeout=120)
                out = output.all()
                err = connect.stderr.read() if connect.stderr else ""
            finally:
                connect.kill()
    assert landed.status_code == 200, landed.text
    assert "doctor1 is connected" in landed.text  # serve's /oauth/callback page
    assert connect.returncode == 0, err
    assert "chronobridge serve at http://127.0.0.1:" in out
    assert out.strip().splitlines()[-1].startswith("Connected doctor1 (provider")


def test_a_serve_of_another_hub_on_the_port_is_named(tmp_path: Path) -> None:
    with emulator() as emu:
        port = free_port()
        redirect = _redirect_to(emu, port)
        other = Cli.against(tmp_path / "other", emu.url, CHRONOBRIDGE_REDIRECT_URI=redirect)
        cli = Cli.against(tmp_path / "home", emu.url, CHRONOBRIDGE_REDIRECT_URI=redirect)
        with other.serving(port, "--no-worker"):
            line = cli("connect", "--no-browser", "--timeout", "5").error_line()
    assert line == (
        f"Error: The chronobridge serve at http://127.0.0.1:{port} uses another hub's database, "
        "so it cannot complete this authorization. Run chronobridge connect with that serve's "
        "CHRONOBRIDGE_HOME (or CHRONOBRIDGE_DATABASE_URL), or stop it and run chronobridge "
        "connect again."
    )


@contextlib.contextmanager
def _something_listening(port: int) -> Iterator[None]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield


def test_a_port_held_by_something_else_says_what_to_do(tmp_path: Path) -> None:
    with emulator() as emu:
        port = free_port()
        cli = Cli.against(tmp_path / "home", emu.url,
                          CHRONOBRIDGE_REDIRECT_URI=_redirect_to(emu, port))  # fmt: skip
        with _something_listening(port):
            line = cli("connect", "--no-browser", "--timeout", "5").error_line()
    assert line == (
        f"Error: Cannot listen on 127.0.0.1:{port} for DrChrono's answer (OSError). Stop "
        "whatever uses that port, or finish with chronobridge connect --complete '<the address "
        "the browser landed on>'."
    )
