"""`chronobridge serve` and `chronobridge webhooks ...` in child processes, as an operator runs
them: the environment carries the settings (home, database, keys, the default application).

    with ServeProcess(env, port, "--no-worker") as serve:   # started, ready line read
        serve.kill()                                          # kill -9
        serve.start()
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

# Runs the commands whether or not cli/__init__.py has wired them in yet.
RUNNER = """
import sys, typer
from chronobridge.cli import _serve, _webhooks
app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
_serve.register(app)
_webhooks.register(app)
app(sys.argv[1:])
"""


def hub_env(home: Path, database_url: str, keys: str, **settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHRONOBRIDGE_")}
    env.update(
        CHRONOBRIDGE_HOME=str(home),
        CHRONOBRIDGE_DATABASE_URL=database_url,
        CHRONOBRIDGE_ENCRYPTION_KEYS=keys,
    )
    env.update({f"CHRONOBRIDGE_{name.upper()}": value for name, value in settings.items()})
    return env


def cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUNNER, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class ServeProcess:
    def __init__(self, env: dict[str, str], port: int, *args: str, log: Path) -> None:
        self.env, self.port, self.args, self.log = env, port, args, log
        self.process: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> str:
        command = [sys.executable, "-c", RUNNER, "serve", "--port", str(self.port), *self.args]
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=subprocess.PIPE, stderr=log, text=True
            )
        self.starts += 1
        return self._ready(timeout)

    def _ready(self, timeout: float) -> str:
        assert self.process is not None
        assert self.process.stdout is not None
        stdout = self.process.stdout
        found: list[str] = []

        def read() -> None:
            for line in stdout:
                self.lines.append(line)
                if line.startswith("chronobridge serve listening"):
                    found.append(line)

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found:
                return found[0]
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"serve did not start: {self.stderr()}")

    def kill(self) -> None:
        """kill -9: no shutdown, no flush, nothing."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def terminate(self, timeout: float = 60.0) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def stderr(self) -> str:
        return self.log.read_text()[-6000:] if self.log.exists() else ""

    def __enter__(self) -> ServeProcess:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.kill()
