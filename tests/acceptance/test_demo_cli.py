"""`chronobridge demo` as `make demo` runs it: the emulator and the hub as real processes, the
OAuth connection, a backfill of every resource, then live changes reaching the store through
webhooks; SIGTERM stops everything cleanly, mid-feed."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chronobridge.emulator._config import DEFAULT_CLIENT_SECRET
from support.servers import free_port


@pytest.mark.slow
def test_the_demo_connects_backfills_shows_webhook_changes_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    home = tmp_path / "demo"
    ports = [free_port(), free_port()]
    command = [
        sys.executable, "-m", "chronobridge", "demo", "--home", str(home),
        "--port", str(ports[0]), "--emulator-port", str(ports[1]),
        "--patients", "40", "--churn", "240",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        seen = _until_live_changes(process, wanted=3, within=240)
        process.send_signal(signal.SIGTERM)
        out = seen + process.communicate(timeout=60)[0]
    finally:
        process.kill()
    assert process.returncode == 0, out[-3000:]
    assert "3/5 connect   doctor1 (doctor) authorized the hub through OAuth" in out
    assert "synced " in out  # the backfill's summary line
    assert "patients" in out
    live = _live_lines(out)
    assert live, out[-3000:]
    # Timed from the emulator's own clock (its delivery log), to the hundredth of a second.
    assert any(re.search(r"\+\d+\.\d\d s after the change$", line) for line in live), live
    assert "live changes reached the store" in out
    assert "Through webhooks, from the change in the emulator to the store: median" in out
    assert DEFAULT_CLIENT_SECRET not in out
    assert (home / "serve.log").exists()
    for port in ports:  # both children are gone: their ports are free again
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0


def _live_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("  ") and " webhook " in line]


def _until_live_changes(process: subprocess.Popen[str], *, wanted: int, within: float) -> str:
    """The demo's output up to its `wanted`-th live change (a SIGTERM then lands mid-feed)."""
    assert process.stdout is not None
    deadline, seen, live = time.monotonic() + within, [], 0
    for line in process.stdout:
        seen.append(line)
        live += len(_live_lines(line))
        if live >= wanted:
            break
        assert time.monotonic() < deadline, "".join(seen)[-3000:]
    return "".join(seen)
