"""Helpers of the sync benchmarks: the emulator in its own process, a store, an engine, and
recorded answers to replay.

python -m bench._sync_support serve PORT PATIENTS APPOINTMENTS   # prints READY <token>

`record(...)` runs one backfill against the emulator in-process and keeps every answer;
`replay(recording)` is an httpx2 MockTransport that serves them again, so a benchmark can run
the whole engine (client, staging, ingest, hooks, cursor) with the records already fetched:
no emulator work in the figures.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2

if TYPE_CHECKING:
    from chronobridge.store import Database
    from chronobridge.sync import SyncEngine

ROOT = Path(__file__).resolve().parent.parent
BASE = "http://emulator.bench"


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


# --- recorded answers ----------------------------------------------------------------------

RequestKey = tuple[str, str, tuple[tuple[str, str], ...]]


def _key(request: httpx2.Request) -> RequestKey:
    query = tuple(sorted(request.url.params.multi_items()))
    return request.method, request.url.path, query


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass
class Recording:
    """Every answer of one backfill, and the requests of each resource in order."""

    token: str
    answers: dict[RequestKey, Answer] = field(default_factory=dict)
    requests: dict[str, list[RequestKey]] = field(default_factory=dict)


class _Recorder(httpx2.AsyncBaseTransport):
    def __init__(self, inner: httpx2.AsyncBaseTransport, recording: Recording) -> None:
        self.inner, self.recording, self.resource = inner, recording, ""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        key = _key(request)
        self.recording.answers[key] = Answer(response.status_code, response.headers.raw, body)
        self.recording.requests.setdefault(self.resource, []).append(key)
        return httpx2.Response(response.status_code, headers=response.headers, content=body)


def replay(recording: Recording) -> httpx2.MockTransport:
    """The recorded answer of each request (KeyError for one the recording never made)."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        found = recording.answers[_key(request)]
        return httpx2.Response(found.status, headers=found.headers, content=found.body)

    return httpx2.MockTransport(answer)


async def _no_wait(_seconds: float) -> None:
    return None


def clients(recording: Recording, transport: httpx2.AsyncBaseTransport) -> Any:
    from chronobridge.sync import StaticClients

    return StaticClients(
        access_token=recording.token, base_url=BASE, transport=transport, sleep=_no_wait
    )


@contextlib.asynccontextmanager
async def fresh_store(folder: Path) -> AsyncIterator[tuple[Database, int]]:
    """A new SQLite store with one app: (database, app id)."""
    from chronobridge.store import Apps, AppSpec, KeyRing, open_database

    db = await open_database(
        f"sqlite+aiosqlite:///{folder / 'hub.sqlite'}", keys=KeyRing.generate()
    )
    spec = AppSpec(name="bench", client_id="bench", client_secret="x", redirect_uris=("http://x/",))  # noqa: S106
    try:
        yield db, (await Apps(db).ensure(spec)).id
    finally:
        await db.close()


def engine(db: Database, source: Any, *, hooks: bool = True) -> SyncEngine:
    """The engine as the hub builds it: default mapping, the production ingest hooks."""
    from chronobridge.domain.mappings import default_mapping
    from chronobridge.sync import SyncEngine
    from chronobridge.wiring import ingest_hooks

    return SyncEngine(db, source, default_mapping(), hooks=ingest_hooks(db) if hooks else ())


async def record(patients: int, appointments: int, resources: tuple[str, ...]) -> Recording:
    """A backfill of `resources` (doctors first) against the emulator in this process."""
    from chronobridge.emulator import EmulatorConfig, create_app

    config = EmulatorConfig(patients=patients, appointments=appointments, rate_limit=10**9,
                            extra={"batch_ready_seconds": "0"})  # fmt: skip
    app = create_app(config)
    inner = httpx2.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=inner, base_url=BASE) as http,
    ):
        answer = await http.post(
            "/_emulator/oauth/token", json={"client_id": "demo-client-id", "user": "doctor1"}
        )
        recording = Recording(token=str(answer.json()["access_token"]))
        recorder = _Recorder(inner, recording)
        with tempfile.TemporaryDirectory() as folder:
            async with fresh_store(Path(folder)) as (db, app_id):
                runner = engine(db, clients(recording, recorder), hooks=False)
                for resource in ("doctors", *resources):
                    recorder.resource = resource
                    await runner.run(app_id, resource)
    return recording


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
