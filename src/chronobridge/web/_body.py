"""Reading a webhook body within limits: a size cap checked before and while reading (413
without buffering an oversized body) and a deadline for the whole body (408 for a client that
trickles bytes), so neither a huge upload nor a slow one ties up the receiver (WH-11).

Straight from the ASGI `receive` channel: a DrChrono delivery arrives in one message, and the
deadline is one entry in a shared `Deadlines` (one timer for every request being read) rather
than a timer of its own per request.

    reads = BodyReads(seconds=10.0)
    body = await reads.read(receive, declared=content_length, limit=1024 * 1024)
"""

from __future__ import annotations

import asyncio

from starlette.types import Receive

from chronobridge.ingress import Deadlines, Rejection

__all__ = ["BodyReads"]


class _Read:
    """One body being read: the task to interrupt when its deadline passes."""

    __slots__ = ("ended", "expired", "task")

    def __init__(self, task: asyncio.Task[object]) -> None:
        self.task = task
        self.ended = False
        self.expired = False


def _interrupt(read: _Read) -> None:
    read.expired = True
    read.task.cancel()


def _ended(read: _Read) -> bool:
    return read.ended


class BodyReads:
    """Reads request bodies, each within `seconds` of its start."""

    def __init__(self, *, seconds: float) -> None:
        self.seconds = seconds
        self._deadlines: Deadlines[_Read] = Deadlines(seconds, expire=_interrupt, done=_ended)

    async def read(self, receive: Receive, *, declared: int | None, limit: int) -> bytes:
        if declared is not None and declared > limit:
            raise Rejection(413, "body_too_large")
        task = asyncio.current_task()
        assert task is not None  # an ASGI request always runs in a task
        read = _Read(task)
        self._deadlines.add(read)
        try:
            return await _collect(receive, limit)
        except asyncio.CancelledError:
            if not read.expired:
                raise
            task.uncancel()
            raise Rejection(408, "body_too_slow") from None
        finally:
            read.ended = True


async def _collect(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise Rejection(400, "body_incomplete")  # the client disconnected
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Rejection(413, "body_too_large")
        if not message.get("more_body", False):
            # The usual case: the whole body in one message.
            return b"".join((*chunks, chunk)) if chunks else chunk
        chunks.append(chunk)
