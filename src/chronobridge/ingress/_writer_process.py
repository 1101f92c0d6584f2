"""The inbox writer in a process of its own, supervised by the web process.

One core runs the web server's event loop; Python's GIL keeps a writer *thread* on that same
core for everything it does in Python (parsing, encryption, SQLAlchemy, DBOS's enqueue). A
writer process puts that work on the second core. The event loop sends each batch of verified
arrivals over a socket pair (length-prefixed `marshal` frames: ids, names, numbers and the raw
body, nothing else) and awaits the reply; the child commits the batch (`BatchStore`) and answers
one outcome per arrival. Each request still waits for its own batch's commit before its 200.

Supervision: a child that exits, crashes or stops answering (`hang_limit`: a watchdog kills
it) loses the batch in flight: its requests get 503 (DrChrono retries; a batch that committed
anyway makes the retries duplicates) and the next batch starts a new child, no sooner than
`restart_pause` after the last start (doubling while starts keep failing). The child reads
until the socket closes, so it ends with its parent, even after a `kill -9` (after finishing
the transaction in hand).

The child gets its settings, the encryption keys included, over the socket: never on its
command line or in its environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import marshal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from chronobridge.errors import ConfigError
from chronobridge.ingress._inbox_batch import Arrival
from chronobridge.store import KeyRing

__all__ = ["WriterLost", "WriterProcess", "read_frame_sync", "write_frame_sync"]

log = logging.getLogger("chronobridge.ingress")

_HEADER = struct.Struct(">I")
CHILD_MODULE = "chronobridge.ingress._writer_child"


class WriterLost(Exception):
    """The writer process ended or stopped answering; its batch in flight is lost (503)."""


class WriterProcess:
    """A `Backend` that stores batches in a supervised child process."""

    def __init__(
        self,
        *,
        database_url: str,
        keys: KeyRing,
        busy_timeout: float,
        start_timeout: float = 120.0,
        hang_limit: float = 30.0,
        restart_pause: float = 1.0,
    ) -> None:
        self._settings = {
            "database_url": database_url,
            "keys": list(keys.keys),
            "busy_timeout": busy_timeout,
        }
        self._start_timeout = start_timeout
        self._hang_limit = hang_limit
        self._pause = restart_pause
        self._next_pause = restart_pause
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._started_at = float("-inf")
        self._sent_at: float | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        """Start the child and wait until it is ready to store (raises when it cannot be)."""
        parent, child = socket.socketpair()
        self._started_at = time.monotonic()
        self.starts += 1
        with child:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", CHILD_MODULE, str(child.fileno()),
                pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL,
            )  # fmt: skip
        self._reader, self._writer = await asyncio.open_unix_connection(sock=parent)
        try:
            await _write_frame(self._writer, self._settings)
            reply = await asyncio.wait_for(_read_frame(self._reader), self._start_timeout)
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
            await self._stop()
            raise ConfigError("The inbox writer process did not start.") from error
        if reply[0] != "ready":
            await self._stop()
            raise ConfigError(f"The inbox writer process could not start: {reply[1]}")
        self._next_pause = self._pause
        if self._watchdog is None:
            self._watchdog = asyncio.create_task(self._watch(), name="inbox-writer-watchdog")

    async def store(self, arrivals: Sequence[Arrival]) -> list[str]:
        if self._writer is None:
            await self._restart()
        assert self._reader is not None
        assert self._writer is not None
        self._sent_at = time.monotonic()
        try:
            await _write_frame(self._writer, list(arrivals))
            status, payload = await _read_frame(self._reader)
        except (OSError, asyncio.IncompleteReadError) as error:
            log.warning("The inbox writer process was lost (%s)", type(error).__name__)
            await self._stop()
            raise WriterLost(type(error).__name__) from None
        finally:
            self._sent_at = None
        if status != "ok":
            raise WriterLost(str(payload))  # the error's class name: the batch was not stored
        outcomes: list[str] = payload
        return outcomes

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        await self._stop()

    async def _watch(self) -> None:
        """Kill a child that has not answered its batch within `hang_limit`: its socket then
        closes and the batch fails like any lost batch. (One task for the writer's life, not a
        timer per batch.)"""
        while True:
            await asyncio.sleep(self._hang_limit / 10)
            sent_at, process = self._sent_at, self._process
            late = sent_at is not None and time.monotonic() - sent_at > self._hang_limit
            if late and process is not None and process.returncode is None:
                log.warning("The inbox writer process stopped answering; ending it")
                process.kill()

    async def _restart(self) -> None:
        wait = self._started_at + self._next_pause - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        try:
            await self.start()
        except ConfigError:
            self._next_pause = min(self._next_pause * 2, 30.0)
            raise WriterLost("restart failed") from None
        log.warning("The inbox writer process was restarted")

    async def _stop(self) -> None:
        """Close the socket (the child ends once its batch in hand is done) and reap it."""
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None
        process, self._process = self._process, None
        if process is not None:
            await _reap(process)


async def _reap(process: asyncio.subprocess.Process, *, wait: float = 10.0) -> None:
    try:
        await asyncio.wait_for(process.wait(), wait)
    except TimeoutError:
        process.kill()
        await process.wait()


async def _write_frame(writer: asyncio.StreamWriter, value: Any) -> None:
    data = marshal.dumps(value)
    writer.write(_HEADER.pack(len(data)) + data)
    await writer.drain()


async def _read_frame(reader: asyncio.StreamReader) -> Any:
    (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    return marshal.loads(await reader.readexactly(size))  # noqa: S302  (our own child)


def write_frame_sync(stream: Any, value: Any) -> None:
    data = marshal.dumps(value)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def read_frame_sync(stream: Any) -> Any:
    """The next frame, or None when the other side closed the socket."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    return marshal.loads(data)  # noqa: S302  (our own parent)
