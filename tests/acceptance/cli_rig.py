"""The CLI as a user runs it: `python -m chronobridge ...` in a fresh CHRONOBRIDGE_HOME, against
the emulator on a real socket (uvicorn in a thread of the test process, so the test can also
reach into its state and its control API)."""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from chronobridge.emulator import EmulatorConfig, EmulatorState, create_app
from chronobridge.emulator._config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from support.servers import running_server


@dataclass
class Emulator:
    url: str
    state: EmulatorState

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        with httpx2.Client(base_url=self.url) as http:
            answer = http.request(method, path, json=body)
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else None

    def approve_as(self, username: str | None) -> None:
        self.control("PUT", "/_emulator/oauth/auto-approve", {"user": username})


@contextlib.contextmanager
def emulator(**settings: Any) -> Iterator[Emulator]:
    config = EmulatorConfig(**{"patients": 30, "appointments": 30, **settings})
    app = create_app(config)
    with running_server(app) as url:
        yield Emulator(url=url, state=app.state.emulator)


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err

    def error_line(self) -> str:
        """The one sentence a failure prints; asserts it is exactly one line, no traceback."""
        assert self.code != 0, self.both
        assert "Traceback" not in self.both, self.both
        lines = [line for line in self.err.splitlines() if line.strip()]
        assert len(lines) == 1, self.err
        assert lines[0].startswith("Error: "), lines[0]
        return lines[0]


@dataclass
class Cli:
    home: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def against(cls, home: Path, emulator_url: str, **extra: str) -> Cli:
        env = {
            "CHRONOBRIDGE_HOME": str(home),
            "CHRONOBRIDGE_DRCHRONO_URL": emulator_url,
            "CHRONOBRIDGE_CLIENT_ID": DEFAULT_CLIENT_ID,
            "CHRONOBRIDGE_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            **extra,
        }
        return cls(home=home, env=env)

    def environment(self, **changes: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("CHRONOBRIDGE_")}
        home = {"CHRONOBRIDGE_HOME": str(self.home)}  # never the user's own ~/.chronobridge
        return {**base, **home, **self.env, **changes, "PYTHONUNBUFFERED": "1"}

    def __call__(self, *args: str, stdin: str | None = None, **env: str) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "chronobridge", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.environment(**env),
            timeout=120,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    @contextlib.contextmanager
    def serving(self, port: int, *args: str, **env: str) -> Iterator[str]:
        """`chronobridge serve --port PORT ARGS` until the block ends; yields its base URL once
        it accepts connections."""
        process = self.start("serve", "--port", str(port), *args, **env)
        try:
            _wait_for_line(process, "chronobridge serve listening")
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.communicate(timeout=60)

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "chronobridge", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.environment(**env),
        )


def _wait_for_line(process: subprocess.Popen[str], prefix: str, timeout: float = 120) -> str:
    """The first line of stdout that starts with `prefix` (a thread reads: no blocking read)."""
    found: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(prefix):
                found.put(line)
                return

    threading.Thread(target=read, daemon=True).start()
    try:
        return found.get(timeout=timeout)
    except queue.Empty:
        process.kill()
        raise AssertionError(f"no line {prefix!r}: {process.communicate()[1][-2000:]}") from None
