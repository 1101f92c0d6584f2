"""How fast the emulator serves full 250-record list pages over a real socket.

    python -m bench emulator_lists

The emulator (10,000 patients) runs in its own process under uvicorn, as `chronobridge
emulator` does. A light client (raw HTTP/1.1 over asyncio streams, keep-alive) walks
`/api/patients` through its `next` links:

* fresh: once over a freshly seeded emulator (records are rendered once at seed time, as
  `build_state` does), and once over one started with `prerender` off, where every record is
  rendered for the first time as the walk reaches it (the cost of records changed after
  startup); each on `FRESH_RUNS` emulators, started anew;
* repeated: over and over for a few seconds, on one connection and on two at once.

The client reads every byte of every page but takes only the `next` link from its end, so the
figure is the server's, not a JSON parser's. Baselines, measured in the same run, each in its
own process: a bare Starlette endpoint answering the same page with `JSONResponse` (encoding it
per request: the yardstick of the unrendered pass), and one answering its bytes encoded once
(the ceiling, and the yardstick of the fresh and repeated passes: no auth, no paging, no
rendering).

Wall-clock pages per second depend on what else the machine runs, so the server process's CPU
time per page is printed too (from /proc), with the rate it allows on one free core. The aim:
at least 100 pages per second. Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PATIENTS = 10_000
SECONDS = 4.0
FRESH_RUNS = 3
AIM = 100.0  # pages per second (issue 2)
ROOT = Path(__file__).resolve().parent.parent
START = "/api/patients"


@dataclass(frozen=True)
class Server:
    port: int
    token: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux /proc; 0 elsewhere)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Figure:
    pages: int
    wall: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.pages / self.wall

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu / self.pages

    def __add__(self, other: Figure) -> Figure:
        return Figure(self.pages + other.pages, self.wall + other.wall, self.cpu + other.cpu)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(kind: str, argument: str) -> Iterator[Server]:
    port = _port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench._serve", kind, str(port), argument],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("READY"):
            raise RuntimeError(f"{kind} server did not start")
        yield Server(port=port, token=line.split()[1], pid=process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


class Connection:
    """One keep-alive HTTP/1.1 connection that GETs whole responses."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: str):
        self.reader, self.writer, self.head = reader, writer, head

    @classmethod
    async def open(cls, port: int, token: str) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**23)
        # The Host header carries the port: the emulator builds its `next` links from it.
        return cls(reader, writer, f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}")

    async def get(self, target: str) -> bytes:
        self.writer.write(f"GET {target} HTTP/1.1\r\n{self.head}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        if status != 200:
            raise RuntimeError(f"GET {target} answered {status}")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        return await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def next_target(body: bytes) -> str:
    """The `next` link's path and query (the envelope ends with it), or the first page again
    after the last one."""
    tail = body[-400:].decode("utf-8", "replace")
    link = json.loads(tail[tail.rfind('"next":') + 7 : -1])
    if not link:
        return START
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def measured(server: Server, work: Callable[[], Awaitable[int]]) -> Figure:
    """Run `work` (which returns the pages it fetched); its wall and server CPU time."""
    cpu, started = server.cpu_seconds(), time.perf_counter()
    pages = asyncio.run(work())
    return Figure(pages, time.perf_counter() - started, server.cpu_seconds() - cpu)


async def walk(server: Server, *, seconds: float, walkers: int) -> int:
    deadline = time.perf_counter() + seconds
    counts = [0] * walkers

    async def one(index: int) -> None:
        connection = await Connection.open(server.port, server.token)
        target = START
        try:
            while time.perf_counter() < deadline:
                target = next_target(await connection.get(target))
                counts[index] += 1
        finally:
            connection.close()

    await asyncio.gather(*(one(i) for i in range(walkers)))
    return sum(counts)


async def first_pass(server: Server, first_page: list[bytes]) -> int:
    """One walk over every page of a fresh emulator (nothing rendered yet)."""
    connection = await Connection.open(server.port, server.token)
    pages, target = 0, START
    try:
        while True:
            body = await connection.get(target)
            first_page[:] = first_page or [body]
            pages += 1
            if (target := next_target(body)) == START:
                return pages
    finally:
        connection.close()


def fresh_figure(kind: str, patients: int, page: list[bytes]) -> Figure:
    """The first walk over FRESH_RUNS newly started emulators, summed."""
    total = Figure(0, 0.0, 0.0)
    for _ in range(FRESH_RUNS):
        with serving(kind, str(patients)) as server:
            total += measured(server, lambda s=server: first_pass(s, page))
    return total


def repeated_figures(kind: str, argument: str, seconds: float) -> dict[int, Figure]:
    """Walks over and over on one and on two connections (the emulator's after one walk to warm
    up; a baseline answers the same page at every link, so it has no end to walk to)."""
    with serving(kind, argument) as server:
        if kind.startswith("emulator"):
            measured(server, lambda: first_pass(server, []))
        return {
            w: measured(server, lambda w=w: walk(server, seconds=seconds, walkers=w))
            for w in (1, 2)
        }


HEADER = f"{'':34} {'pages/s':>8} {'vs aim':>7} {'CPU ms/page':>12} {'1 core':>7}   vs baseline"


def line(label: str, figure: Figure, yardstick: tuple[str, Figure] | None = None) -> str:
    """One row: wall rate and its ratio to the aim, server CPU per page and the rate it allows
    on one free core, and (for the emulator) both ratios to its in-run baseline."""
    ceiling = 1000 / figure.cpu_ms if figure.cpu_ms else float("nan")
    text = (
        f"{label:34} {figure.rate:8.1f} {figure.rate / AIM:6.1f}x"
        f" {figure.cpu_ms:12.2f} {ceiling:7.0f}"
    )
    if yardstick is not None:
        name, base = yardstick
        rate, cpu = figure.rate / base.rate, figure.cpu_ms / base.cpu_ms
        text += f"   {rate:.2f}x the rate, {cpu:.2f}x the CPU of {name}"
    return text


def run(*, patients: int = PATIENTS, seconds: float = SECONDS) -> None:
    page: list[bytes] = []
    fresh = fresh_figure("emulator", patients, page)
    unrendered = fresh_figure("emulator-unrendered", patients, page)
    repeated = repeated_figures("emulator", str(patients), seconds)
    assert len(json.loads(page[0])["results"]) == 250
    with tempfile.TemporaryDirectory() as folder:
        payload = Path(folder) / "page.json"
        payload.write_bytes(page[0])
        encoded = repeated_figures("json", str(payload), seconds)
        ready = repeated_figures("bytes", str(payload), seconds)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"page: 250 patients, {len(page[0]) / 1024:.0f} KiB of JSON; {patients:,} walked")
    print(f"load average {load} on {os.cpu_count()} cores; aim {AIM:.0f} pages/s")
    print(HEADER)
    print(line(f"emulator fresh (x{FRESH_RUNS}), 1 conn", fresh, ("bytes", ready[1])))
    print(line("  nothing rendered at seed", unrendered, ("JSONResponse", encoded[1])))
    for w, conns in ((1, "1 conn"), (2, "2 conns")):
        print(line(f"emulator repeated, {conns}", repeated[w], ("bytes", ready[w])))
    for w, conns in ((1, "1 conn"), (2, "2 conns")):
        print(line(f"baseline JSONResponse, {conns}", encoded[w]))
    for w, conns in ((1, "1 conn"), (2, "2 conns")):
        print(line(f"baseline bytes, {conns}", ready[w]))


if __name__ == "__main__":
    run()
