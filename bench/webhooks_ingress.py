"""Webhook ingress: verified, durably stored deliveries per second on SQLite, against a bare
`return 200` route of the same server in the same run, and the acknowledgement latency at a
fixed offered load of 500 requests/s.

The server (`bench._webhooks_server`: `create_app` + a `/bare` route, uvicorn, its own process)
stores each delivery in the inbox with its job, group-committed, `synchronous=FULL`, before
answering. The load generator speaks HTTP/1.1 over raw keep-alive sockets so that the client
costs little next to the server. Throughput: closed loop, every connection sends its next
request as soon as the last is answered. Latency: open loop, requests scheduled every 2 ms and
measured from their scheduled time (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from chronobridge.store import Apps, AppSpec, KeyRing, open_database

SECRET = "bench-webhook-secret"  # noqa: S105  (a benchmark's throwaway secret)
ROUNDS = 5
SECONDS = 2.0
CONNECTIONS = 128
RATE = 500
RATE_SECONDS = 10.0


async def _prepare(url: str, keys: KeyRing) -> None:
    db = await open_database(url, keys=keys)
    await Apps(db).create(
        AppSpec(
            name="bench",
            client_id="bench",
            client_secret="x",  # noqa: S106
            redirect_uris=("http://127.0.0.1/cb",),
            webhook_secret=SECRET,
        )
    )
    await db.close()


@contextlib.contextmanager
def serving(url: str, keys: str) -> Iterator[tuple[int, int]]:
    port = _free_port()
    env = {**os.environ, "CHRONOBRIDGE_ENCRYPTION_KEYS": keys}
    process = subprocess.Popen(
        [sys.executable, "-m", "bench._webhooks_server", str(port), url],
        stdout=subprocess.PIPE, env=env, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("READY"):
            raise RuntimeError("the benchmark server did not start")
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Requests:
    """Pre-built requests: delivery ids unique across the whole run (each round is a new
    `Requests`: ids that started again from 1 would make every later round's deliveries
    redeliveries, measuring the duplicate path instead of storing), a realistic 1.5 KB body."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.n = 0
        self.prefix = f"bench-{secrets.token_hex(6)}"
        filler = "x" * 1400
        self.body_template = '{"receiver":{"id":1},"object":{"id":0,"notes":"' + filler + '"}}'

    def next(self) -> bytes:
        self.n += 1
        body = self.body_template.replace('"id":0', f'"id":{self.n}', 1).encode()
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"X-drchrono-event: PATIENT_MODIFY\r\nX-drchrono-signature: {SECRET}\r\n"
            f"X-drchrono-delivery: {self.prefix}-{self.n}\r\n\r\n"
        )
        return head.encode() + body


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await self.reader.readexactly(length)
        return status


async def closed_loop(port: int, path: str, *, seconds: float, connections: int) -> float:
    requests = Requests(path)
    pool = [await Connection.open(port) for _ in range(connections)]
    deadline = time.perf_counter() + seconds
    done = [0]

    async def loop(connection: Connection) -> None:
        while time.perf_counter() < deadline:
            status = await connection.send(requests.next())
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
            done[0] += 1

    started = time.perf_counter()
    await asyncio.gather(*(loop(c) for c in pool))
    elapsed = time.perf_counter() - started
    for connection in pool:
        connection.writer.close()
    return done[0] / elapsed


async def open_loop(port: int, path: str, *, rate: int, seconds: float) -> list[float]:
    """Latencies (ms) of requests scheduled at `rate` per second, from their scheduled time."""
    requests = Requests(path)
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(64):
        idle.put_nowait(await Connection.open(port))
    latencies: list[float] = []
    start = time.perf_counter() + 0.1

    async def one(scheduled: float) -> None:
        connection = await idle.get()
        status = await connection.send(requests.next())
        latencies.append((time.perf_counter() - scheduled) * 1000)
        idle.put_nowait(connection)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")

    tasks = []
    for index in range(int(rate * seconds)):
        scheduled = start + index / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    return latencies


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time (user + system, all threads) of the server process and of its children (a
    writer process, counted whether it is still running or was reaped), from /proc."""
    own, reaped = _stat_cpu(pid)
    children = reaped + sum(sum(_stat_cpu(child)) for child in _children(pid))
    return own, children


def _stat_cpu(pid: int) -> tuple[float, float]:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # ended meanwhile
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


Figures = dict[str, list[float]]
STORED = "/webhooks/drchrono"
BASELINES = {
    "/bare": "bare ASGI endpoint, mounted as the webhook",
    "/bare-route": "bare Starlette function route",
    "/bare-di": "bare FastAPI route (dependency injection)",
}


@dataclass
class Rounds:
    """Per path: requests/s, and the server's CPU microseconds per request (its main process,
    and its child processes)."""

    rates: Figures = field(default_factory=dict)
    cpu: Figures = field(default_factory=dict)
    child_cpu: Figures = field(default_factory=dict)

    def add(self, path: str, rate: float, cpu: float, child_cpu: float) -> None:
        self.rates.setdefault(path, []).append(rate)
        self.cpu.setdefault(path, []).append(cpu)
        self.child_cpu.setdefault(path, []).append(child_cpu)

    def median(self, figures: Figures, path: str) -> float:
        return statistics.median(figures[path])

    def ratios(self, path: str) -> list[float]:
        return [d / b for b, d in zip(self.rates[path], self.rates[STORED], strict=True)]


def _throughput(port: int, pid: int, *, rounds: int, seconds: float) -> Rounds:
    """The baselines and the stored webhooks in alternating rounds, so that a change in the
    machine's load (other processes) hits all alike."""
    figures = Rounds()
    for _ in range(rounds):
        for path in (*BASELINES, STORED):
            (own, children) = _cpu_seconds(pid)
            rate = asyncio.run(closed_loop(port, path, seconds=seconds, connections=CONNECTIONS))
            (own_after, children_after) = _cpu_seconds(pid)
            count = rate * seconds
            figures.add(
                path,
                rate,
                (own_after - own) / count * 1e6,
                (children_after - children) / count * 1e6,
            )
    return figures


def _report(figures: Rounds, rounds: int) -> None:
    print(f"median of {rounds} rounds, {CONNECTIONS} connections, server CPU per request "
          f"(main process + child processes)")  # fmt: skip
    for path, label in BASELINES.items():
        print(f"{label:46} {figures.median(figures.rates, path):7.0f} requests/s   "
              f"CPU {figures.median(figures.cpu, path):5.0f} us")  # fmt: skip
    stored_cpu = figures.median(figures.cpu, STORED)
    child_cpu = figures.median(figures.child_cpu, STORED)
    print(f"{'verified + durably stored (SQLite, FULL)':46} "
          f"{figures.median(figures.rates, STORED):7.0f} webhooks/s   "
          f"CPU {stored_cpu:5.0f} us + {child_cpu:.0f} us in child processes")  # fmt: skip
    cheapest = min(BASELINES, key=lambda path: figures.median(figures.cpu, path))
    for path, label in BASELINES.items():
        ratios = figures.ratios(path)
        aim = "   (the aim: >= 0.5)" if path == cheapest else ""
        print(f"ratio stored / {label:31} {statistics.median(ratios):.2f}{aim}   per round "
              f"{', '.join(f'{r:.2f}' for r in ratios)}; CPU ratio (main process) "
              f"{figures.median(figures.cpu, path) / stored_cpu:.2f}")  # fmt: skip


def run(
    *, rounds: int = ROUNDS, seconds: float = SECONDS, rate_seconds: float = RATE_SECONDS
) -> None:
    keys = KeyRing.new_key()
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    writer = "a thread" if os.environ.get("BENCH_WRITER") == "thread" else "its writer process"
    worker = "with" if os.environ.get("BENCH_WORKER") == "1" else "without"
    print(f"server: deliveries stored from {writer}, {worker} the embedded worker")
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'hub.sqlite'}"
        asyncio.run(_prepare(url, KeyRing([keys])))
        with serving(url, keys) as (port, pid):
            asyncio.run(closed_loop(port, "/bare", seconds=1.0, connections=8))  # warm up
            figures = _throughput(port, pid, rounds=rounds, seconds=seconds)
            timed = asyncio.run(open_loop(port, STORED, rate=RATE, seconds=rate_seconds))
            bare_timed = asyncio.run(open_loop(port, "/bare", rate=RATE, seconds=rate_seconds))
    _report(figures, rounds)
    for label, values in (("stored", timed), ("bare", bare_timed)):
        p50, p99 = _percentile(values, 0.5), _percentile(values, 0.99)
        print(f"ack latency at {RATE}/s offered, {label:6}  p50 {p50:6.1f} ms   "
              f"p99 {p99:6.1f} ms   max {max(values):6.1f} ms")  # fmt: skip
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    run()
