"""The processes of `chronobridge demo`: a seeded emulator and the hub's server, started as the
same commands a practice would run, each logging to a file in the demo's home."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from chronobridge.emulator import EmulatorConfig
from chronobridge.errors import ConfigError

__all__ = ["Child", "DemoPlan", "prepare_home", "running"]

MARKER = ".chronobridge-demo"
READY_SECONDS = 60


@dataclass(frozen=True, kw_only=True)
class DemoPlan:
    home: Path
    emulator_port: int
    port: int
    patients: int
    churn: float
    seed: int
    webhook_secret: str = ""

    @property
    def emulator_url(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"

    @property
    def hub_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        """What the hub's processes (and this one) read: the demo app on the emulator."""
        defaults = EmulatorConfig()
        return {
            "CHRONOBRIDGE_HOME": str(self.home),
            "CHRONOBRIDGE_DRCHRONO_URL": self.emulator_url,
            "CHRONOBRIDGE_CLIENT_ID": defaults.client_id,
            "CHRONOBRIDGE_CLIENT_SECRET": defaults.client_secret,
            "CHRONOBRIDGE_REDIRECT_URI": f"{self.hub_url}/oauth/callback",
            "CHRONOBRIDGE_WEBHOOK_SECRET": self.webhook_secret,
        }


def prepare_home(home: Path, *, keep: bool) -> None:
    """A fresh demo folder; a folder that is not a demo's is never emptied."""
    if home.exists() and not keep:
        if any(home.iterdir()) and not (home / MARKER).exists():
            raise ConfigError(
                f"{home} is not a demo folder",
                hint="Pass --home with an empty or new folder for the demo.",
            )
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    (home / MARKER).write_text("made by chronobridge demo; emptied at each start\n")


def check_ports(*ports: int) -> None:
    for port in ports:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                raise ConfigError(
                    f"Port {port} is already in use",
                    hint="Stop what listens there, or choose other ports with --port and "
                    "--emulator-port.",
                )


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def wait_ready(self, marker: str) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if marker in self.log.read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise ConfigError(
            f"The {self.name} did not start",
            hint=f"Its output is in {self.log}.",
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _spawn(name: str, args: Sequence[str], *, env: dict[str, str], log: Path) -> Child:
    handle = log.open("wb")
    command = [sys.executable, "-m", "chronobridge", *args]
    process = subprocess.Popen(  # noqa: S603 - our own CLI with fixed arguments
        command, stdout=handle, stderr=subprocess.STDOUT, env=env
    )
    handle.close()
    return Child(name=name, process=process, log=log)


@contextlib.contextmanager
def running(plan: DemoPlan) -> Iterator[DemoPlan]:
    """Start the emulator (webhooks pointed at the hub, churn on) and the hub's server."""
    check_ports(plan.emulator_port, plan.port)
    secret = secrets.token_urlsafe(24)
    plan = DemoPlan(**{**plan.__dict__, "webhook_secret": secret})
    env = {**os.environ, **plan.environment()}
    children: list[Child] = []
    try:
        emulator = _spawn("emulator", _emulator_args(plan), env=env, log=plan.home / "emulator.log")
        children.append(emulator)
        emulator.wait_ready("emulator listening on")
        hub = _spawn("hub server", ["serve", "--port", str(plan.port)], env=env,
                     log=plan.home / "serve.log")  # fmt: skip
        children.append(hub)
        hub.wait_ready("chronobridge serve listening")
        yield plan
    finally:
        for child in reversed(children):
            child.stop()


def _emulator_args(plan: DemoPlan) -> list[str]:
    return [
        "emulator", "--port", str(plan.emulator_port), "--seed", str(plan.seed),
        "--patients", str(plan.patients), "--churn", str(plan.churn),
        "--auto-approve", "doctor1",
        "--redirect-uri", f"{plan.hub_url}/oauth/callback",
        "--webhook-url", f"{plan.hub_url}/webhooks/drchrono",
        "--webhook-secret", plan.webhook_secret,
    ]  # fmt: skip
