"""How fast the emulator serves full 250-record list pages over a real socket.

    python -m bench emulator_lists

The emulator (10,000 patients) runs in its own process under uvicorn, as `chronobridge
emulator` does. A light client (raw HTTP/1.1 over asyncio streams, keep-alive) walks
`/api/patients` through its `next` links: once on a fresh emulator (every page rendered for the
first time), then over and over for a few seconds, on one connection and on two at once. The
client reads every byte of every page but takes only the `next` link from its end, so the
figure is the server's, not a JSON parser's. Baselines, measured in the same run,
each in its own process: a bare Starlette endpoint answering the same page with `JSONResponse`
(encoding it per request), and one answering its bytes encoded once (the ceiling: no auth, no
paging, no rendering). Target: at least 100 pages per second on a 2-core machine.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PATIENTS = 10_000
SECONDS = 4.0
ROOT = Path(__file__).resolve().parent.parent
SERVERS = (
    ("emulator", "the emulator"),
    ("json", "baseline: Starlette JSONResponse of the page"),
    ("bytes", "baseline: Starlette, the page's bytes"),
)


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(kind: str, argument: str) -> Iterator[tuple[int, str]]:
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
        yield port, line.split()[1]
    finally:
        process.terminate()
        process.wait(timeout=10)


class Connection:
    """One keep-alive HTTP/1.1 connection that GETs whole responses."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, token: str):
        self.reader, self.writer, self.token = reader, writer, token

    @classmethod
    async def open(cls, port: int, token: str) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**23)
        return cls(reader, writer, token)

    async def get(self, target: str) -> bytes:
        auth = f"Authorization: Bearer {self.token}"
        self.writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n\r\n".encode())
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


def next_target(body: bytes, port: int) -> str:
    """The `next` link's path (the envelope ends with it), or the first page again."""
    tail = body[-400:].decode("utf-8", "replace")
    link = json.loads(tail[tail.rfind('"next":') + 7 : -1])
    prefix = f"http://127.0.0.1:{port}"
    return link.removeprefix(prefix) if link and link.startswith(prefix) else "/api/patients"


async def walk(port: int, token: str, *, seconds: float, walkers: int) -> float:
    deadline = time.perf_counter() + seconds
    counts = [0] * walkers

    async def one(index: int) -> None:
        connection = await Connection.open(port, token)
        target = "/api/patients"
        try:
            while time.perf_counter() < deadline:
                target = next_target(await connection.get(target), port)
                counts[index] += 1
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(walkers)))
    return sum(counts) / (time.perf_counter() - started)


async def first_pass(port: int, token: str) -> tuple[bytes, float]:
    """One walk over every page of a fresh emulator (nothing rendered yet): its first page and
    the pages per second of that cold pass."""
    connection = await Connection.open(port, token)
    started, pages, target = time.perf_counter(), 0, "/api/patients"
    try:
        first = body = await connection.get(target)
        while (target := next_target(body, port)) != "/api/patients":
            body = await connection.get(target)
            pages += 1
        return first, (pages + 1) / (time.perf_counter() - started)
    finally:
        connection.close()


def run(*, patients: int = PATIENTS, seconds: float = SECONDS) -> None:
    figures: dict[str, dict[int, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        payload = Path(folder) / "page.json"
        for kind, _label in SERVERS:
            argument = str(patients) if kind == "emulator" else str(payload)
            with serving(kind, argument) as (port, token):
                if kind == "emulator":
                    page, cold = asyncio.run(first_pass(port, token))
                    assert len(json.loads(page)["results"]) == 250
                    payload.write_bytes(page)
                figures[kind] = {
                    w: asyncio.run(walk(port, token, seconds=seconds, walkers=w)) for w in (1, 2)
                }
    print(f"page: 250 patients, {len(page) / 1024:.0f} KiB of JSON; {patients:,} patients walked")
    print(f"{'the emulator, first pass (nothing cached)':46} 1 conn {cold:6.1f} pages/s")
    for kind, label in SERVERS:
        one, two = figures[kind][1], figures[kind][2]
        ratio = "" if kind == "emulator" else f"   (emulator: {figures['emulator'][2] / two:.0%})"
        print(f"{label:46} 1 conn {one:6.1f} pages/s   2 conns {two:6.1f} pages/s{ratio}")


if __name__ == "__main__":
    run()
