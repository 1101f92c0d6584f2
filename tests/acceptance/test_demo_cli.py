"""`chronobridge demo` as `make demo` runs it: the emulator and the hub as real processes, the
OAuth connection, a backfill of every resource, then live changes reaching the store through
webhooks; SIGTERM stops everything cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from chronobridge.emulator._config import DEFAULT_CLIENT_SECRET
from support.servers import free_port


def test_the_demo_connects_backfills_and_shows_webhook_changes(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    command = [
        sys.executable, "-m", "chronobridge", "demo", "--home", str(home),
        "--port", str(free_port()), "--emulator-port", str(free_port()),
        "--patients", "40", "--churn", "240", "--duration", "12",
    ]  # fmt: skip
    process = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    out = process.stdout + process.stderr
    assert process.returncode == 0, out[-3000:]
    assert "3/5 connect   doctor1 (doctor) authorized the hub through OAuth" in out
    assert "synced " in out  # the backfill's summary line
    assert "patients" in out
    live = [line for line in out.splitlines() if line.startswith("  ") and " webhook " in line]
    assert live, out[-3000:]
    # Timed from the emulator's own clock (its delivery log), to the hundredth of a second.
    assert any(re.search(r"\+\d+\.\d\d s after the change$", line) for line in live), live
    assert "live changes reached the store" in out
    assert "Through webhooks, from the change in the emulator to the store: median" in out
    assert DEFAULT_CLIENT_SECRET not in out
    assert (home / "serve.log").exists()


def test_sigterm_stops_the_demo_and_its_processes(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    ports = [free_port(), free_port()]
    command = [
        sys.executable, "-m", "chronobridge", "demo", "--home", str(home),
        "--port", str(ports[0]), "--emulator-port", str(ports[1]), "--patients", "20",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert process.stdout is not None
    deadline = time.monotonic() + 180
    for line in process.stdout:
        if line.startswith("5/5 live"):
            break
        assert time.monotonic() < deadline
    process.send_signal(signal.SIGTERM)
    rest = process.communicate(timeout=60)[0]
    assert process.returncode == 0, rest
    assert "live changes reached the store" in rest
    for port in ports:  # both children are gone: their ports are free again
        import socket

        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0
