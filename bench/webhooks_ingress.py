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
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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
    """Pre-built requests: unique delivery ids, a realistic 1.5 KB body."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.n = 0
        filler = "x" * 1400
        self.body_template = '{"receiver":{"id":1},"object":{"id":0,"notes":"' + filler + '"}}'

    def next(self) -> bytes:
        self.n += 1
        body = self.body_template.replace('"id":0', f'"id":{self.n}', 1).encode()
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"X-drchrono-event: PATIENT_MODIFY\r\nX-drchrono-signature: {SECRET}\r\n"
            f"X-drchrono-delivery: bench-{os.getpid()}-{self.path[1:5]}-{self.n}\r\n\r\n"
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


def _cpu_seconds(pid: int) -> float:
    """The server process's CPU time (user + system, all threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


Figures = dict[str, list[float]]


def _throughput(port: int, pid: int, *, rounds: int, seconds: float) -> tuple[Figures, Figures]:
    """Bare and durable in alternating rounds, so that a change in the machine's load (other
    processes) hits both alike; requests/s and the server's CPU microseconds per request."""
    rates: Figures = {"/bare": [], "/webhooks/drchrono": []}
    cpu: Figures = {"/bare": [], "/webhooks/drchrono": []}
    for _ in range(rounds):
        for path in rates:
            before = _cpu_seconds(pid)
            rate = asyncio.run(closed_loop(port, path, seconds=seconds, connections=CONNECTIONS))
            rates[path].append(rate)
            cpu[path].append((_cpu_seconds(pid) - before) / (rate * seconds) * 1e6)
    return rates, cpu


def run(
    *, rounds: int = ROUNDS, seconds: float = SECONDS, rate_seconds: float = RATE_SECONDS
) -> None:
    keys = KeyRing.new_key()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'hub.sqlite'}"
        asyncio.run(_prepare(url, KeyRing([keys])))
        with serving(url, keys) as (port, pid):
            asyncio.run(closed_loop(port, "/bare", seconds=1.0, connections=8))  # warm up
            rates, cpu = _throughput(port, pid, rounds=rounds, seconds=seconds)
            timed = asyncio.run(
                open_loop(port, "/webhooks/drchrono", rate=RATE, seconds=rate_seconds)
            )
            bare_timed = asyncio.run(open_loop(port, "/bare", rate=RATE, seconds=rate_seconds))
    bare, durable = rates["/bare"], rates["/webhooks/drchrono"]
    ratios = [d / b for b, d in zip(bare, durable, strict=True)]
    print(
        f"bare `return 200` (same server)      {statistics.median(bare):8.0f} requests/s   "
        f"(median of {rounds} rounds, {CONNECTIONS} connections)"
    )
    print(f"verified + durably stored (SQLite)   {statistics.median(durable):8.0f} webhooks/s   "
          f"ratio {statistics.median(ratios):.2f} (aim >= 0.5; per round "
          f"{', '.join(f'{r:.2f}' for r in ratios)})")  # fmt: skip
    bare_cpu = statistics.median(cpu["/bare"])
    stored_cpu = statistics.median(cpu["/webhooks/drchrono"])
    print(
        f"server CPU per request               bare {bare_cpu:5.0f} us   "
        f"stored {stored_cpu:5.0f} us"
        f"   CPU ratio {bare_cpu / stored_cpu:.2f} (the throughput ratio on an idle machine)"
    )
    for label, values in (("stored", timed), ("bare", bare_timed)):
        p50, p99 = _percentile(values, 0.5), _percentile(values, 0.99)
        print(f"ack latency at {RATE}/s offered, {label:6}  p50 {p50:6.1f} ms   "
              f"p99 {p99:6.1f} ms   max {max(values):6.1f} ms")  # fmt: skip


if __name__ == "__main__":
    run()
