"""`chronobridge emulator` as a user runs it: a real process, a real
socket, the ready line, the OAuth flow with --auto-approve, the API, a clean stop."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

import httpx2
import pytest

from chronobridge.emulator._config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REDIRECT_URI,
)
from support.emulator_harness import receiver
from support.servers import free_port


@dataclass
class Running:
    process: subprocess.Popen[str]
    url: str
    lines: list[str] = field(default_factory=list)

    def stop(self, sig: signal.Signals) -> str:
        self.process.send_signal(sig)
        self.process.wait(timeout=20)
        rest = self.process.stdout.read() if self.process.stdout else ""
        return "\n".join(self.lines) + rest


@contextlib.contextmanager
def chronobridge(*args: str) -> Iterator[Running]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "chronobridge", *args, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    running = Running(process=process, url=f"http://127.0.0.1:{port}")
    try:
        _wait_ready(running, f"emulator listening on {running.url}")
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def _wait_ready(running: Running, ready: str) -> None:
    lines: queue.Queue[str] = queue.Queue()
    stream = running.process.stdout
    assert stream is not None

    def pump() -> None:
        for line in stream:
            lines.put(line.rstrip("\n"))
            if line.startswith("  Ctrl-C"):
                return

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(queue.Empty):
            line = lines.get(timeout=0.1)
            running.lines.append(line)
            if line == ready:
                time.sleep(0.2)  # the how-to follows the ready line
                while not lines.empty():
                    running.lines.append(lines.get())
                return
        if running.process.poll() is not None:
            break
    pytest.fail("no ready line:\n" + "\n".join(running.lines))


def test_emulator_runs_the_oauth_flow_unattended_and_serves_the_api() -> None:
    with (
        receiver("flag-secret") as (found, hook_url),
        chronobridge(
            "emulator",
            "--patients", "5",
            "--auto-approve", "doctor1",
            "--webhook-url", hook_url,
            "--webhook-secret", "flag-secret",
            "--webhook-signature", "hmac",
        ) as running,
        httpx2.Client(base_url=running.url) as client,
    ):  # fmt: skip
        assert running.lines[0] == f"emulator listening on {running.url}"
        back = client.get(
            "/o/authorize/",
            params={
                "client_id": DEFAULT_CLIENT_ID,
                "redirect_uri": DEFAULT_REDIRECT_URI,
                "response_type": "code",
                "state": "s1",
            },
        )
        assert back.status_code == 302
        code = parse_qs(urlparse(back.headers["location"]).query)["code"][0]
        token = client.post(
            "/o/token/",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": DEFAULT_REDIRECT_URI,
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
            },
        ).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        me = client.get("/api/users/current", headers=headers, follow_redirects=True)
        assert me.status_code == 200
        assert me.json()["username"] == "doctor1"
        hooks = client.get("/_emulator/webhooks").json()["webhooks"]
        assert hooks[0]["verified"] is True
        assert hooks[0]["signature"] == "hmac"
        assert found.handshakes
        output = running.stop(signal.SIGINT)
        assert running.process.returncode == 0
        assert "emulator stopped" in output
        assert DEFAULT_CLIENT_SECRET not in output
        assert token["access_token"] not in output


def test_bad_flags_are_refused_before_listening() -> None:
    answer = subprocess.run(
        [sys.executable, "-m", "chronobridge", "emulator", "--webhook-url", "http://x/h"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert answer.returncode == 2
    assert "--webhook-secret" in answer.stderr
