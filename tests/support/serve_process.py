"""`chronobridge serve`, `chronobridge webhooks ...` and the emulator in child processes, as an
operator runs them: the environment carries the settings (home, database, keys, the default
application).

    with ServeProcess(env, port, "--no-worker") as serve:   # started, ready line read
        serve.kill()                                          # kill -9
        serve.start()

    with live_stack(tmp_path) as stack:      # emulator + serve (worker on), doctor1 connected,
        stack.api("PATCH", "/api/patients/1", {...})   # the emulator's webhook verified
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx2

from chronobridge.emulator._config import DEFAULT_CLIENT_ID
from chronobridge.store import KeyRing
from support import sql
from support.ingress import SECRET
from support.servers import free_port

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


class EmulatorProcess:
    """`chronobridge emulator` in a child process (its webhooks point at a hub)."""

    def __init__(self, port: int, *args: str, log: Path) -> None:
        self.port, self.args, self.log = port, args, log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        command = [sys.executable, "-m", "chronobridge", "emulator", "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, *self.args], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while "emulator listening on" not in self.log.read_text(errors="replace"):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"the emulator did not start: {self.log.read_text()[-3000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class LiveStack:
    """The emulator and serve as processes, sharing one SQLite hub database."""

    emulator: EmulatorProcess
    serve: ServeProcess
    database_url: str
    keys: KeyRing
    app_id: int
    http: httpx2.Client
    extra: dict[str, Any] = field(default_factory=dict)

    def control(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.http.request(method, self.emulator.url + path, json=body)
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else None

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """DrChrono's REST API as staff1 (a new doctor1 token would end the hub's)."""
        answer = self.call(method, path, body)
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else None

    def call(self, method: str, path: str, body: Any = None) -> httpx2.Response:
        """The same, whatever the answer."""
        if "token" not in self.extra:
            request = {"client_id": DEFAULT_CLIENT_ID, "user": "staff1"}
            answer = self.control("POST", "/_emulator/oauth/token", request)
            self.extra["token"] = answer["access_token"]
        headers = {"Authorization": f"Bearer {self.extra['token']}"}
        return self.http.request(method, self.emulator.url + path, json=body, headers=headers)

    def deliveries(self) -> list[dict[str, Any]]:
        """The emulator's webhook delivery log."""
        found = self.control("GET", f"/_emulator/webhooks/{DEFAULT_CLIENT_ID}/deliveries")
        return list(found if isinstance(found, list) else found["deliveries"])

    def rows(self, query: str, **params: Any) -> list[Any]:
        return sql.rows(self.database_url, query, **params)

    def wait(self, condition: Any, *, within: float = 60.0, every: float = 0.02) -> Any:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(every)
        raise AssertionError("condition not met in time")


@contextlib.contextmanager
def live_stack(tmp_path: Path, *serve_args: str, patients: int = 40) -> Iterator[LiveStack]:
    """The emulator (webhooks to the hub, secret mode) and `chronobridge serve` (embedded
    worker) as processes; the application registered and doctor1 connected before serve
    starts, and the emulator's webhook verified before the block runs."""
    from support.webhook_stack import _prepare  # the same app and OAuth connection

    keys = KeyRing.new_key()
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.sqlite'}"
    hub_port = free_port()
    hook = f"http://127.0.0.1:{hub_port}/webhooks/drchrono"
    emulator = EmulatorProcess(
        free_port(), "--patients", str(patients), "--rate-limit", "100000",
        "--auto-approve", "doctor1", "--webhook-url", hook, "--webhook-secret", SECRET,
        log=tmp_path / "emulator.log",
    )  # fmt: skip
    emulator.start()
    serve = ServeProcess(
        hub_env(tmp_path, url, keys), hub_port, *serve_args, log=tmp_path / "serve.log"
    )
    try:
        app_id = asyncio.run(_prepare(url, KeyRing([keys]), emulator.url))
        serve.start()
        with httpx2.Client(timeout=30) as http:
            stack = LiveStack(emulator, serve, url, KeyRing([keys]), app_id, http)
            path = f"/_emulator/webhooks/{DEFAULT_CLIENT_ID}"
            stack.wait(lambda: stack.control("GET", path).get("verified"), every=0.2)
            yield stack
    finally:
        serve.kill()
        emulator.stop()
