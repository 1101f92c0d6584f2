"""Helpers of the sync benchmarks: the emulator in its own process, a store, an engine.

python -m bench._sync_support serve PORT PATIENTS APPOINTMENTS   # prints READY <token>
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Served:
    url: str
    token: str

    def calls(self) -> int:
        with urllib.request.urlopen(f"{self.url}/_emulator/stats") as answer:  # noqa: S310
            return int(json.loads(answer.read())["total"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def emulator(patients: int, appointments: int) -> Iterator[Served]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench._sync_support", "serve", str(port), str(patients),
         str(appointments)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError("the emulator did not start")
        yield Served(url=f"http://127.0.0.1:{port}", token=line.split()[1])
    finally:
        process.terminate()
        process.wait(timeout=30)


def serve(port: int, patients: int, appointments: int) -> None:
    import uvicorn

    from chronobridge.catalog import SCOPES
    from chronobridge.emulator import EmulatorConfig, create_app

    config = EmulatorConfig(
        patients=patients,
        appointments=appointments,
        rate_limit=10**9,
        extra={"batch_ready_seconds": "0"},
    )
    app = create_app(config)
    state = app.state.emulator
    user = state.user_by_name("doctor1")
    token = state.issue_token(
        client_id=state.config.client_id, user_id=user.id, scopes=frozenset(SCOPES)
    ).access_token
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    original = server.startup

    async def startup(sockets: object = None) -> None:
        await original(sockets)  # type: ignore[arg-type]
        print(f"READY {token}", flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
