"""examples/emulator_tour.py (the README's script) against `chronobridge emulator`: OAuth,
a signed webhook for its own change, every list endpoint paged through, then a 429."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from support.servers import free_port

TOUR = Path(__file__).resolve().parents[2] / "examples" / "emulator_tour.py"


def test_the_tour_script_runs_against_the_emulator() -> None:
    port = free_port()
    emulator = subprocess.Popen(
        [sys.executable, "-m", "chronobridge", "emulator", "--port", str(port),
         "--auto-approve", "doctor1", "--rate-limit", "200", "--patients", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert emulator.stdout is not None
        deadline = time.monotonic() + 60
        while "emulator listening on" not in emulator.stdout.readline():
            assert time.monotonic() < deadline
        tour = subprocess.run(
            [sys.executable, str(TOUR), f"http://127.0.0.1:{port}"],
            capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)
    assert tour.returncode == 0, tour.stderr[-3000:]
    out = tour.stdout
    assert "oauth: access token for doctor1, expires in 172800 s" in out
    assert "webhooks: registered" in out
    assert "verified: True" in out
    assert "webhooks: PATIENT_CREATE for patient" in out
    assert "signature checked" in out
    assert out.count("lists: /api/") == 73  # every list operation of the catalog
    assert "rate limit: 429 after" in out
    assert "Request was throttled. Expected available in" in out
