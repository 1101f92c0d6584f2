"""Reading a webhook body within limits: a size cap checked before and while reading (413
without buffering an oversized body) and a deadline for the whole body (408 for a client that
trickles bytes), so neither a huge upload nor a slow one ties up the receiver (WH-11)."""

from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect, Request

from chronobridge.ingress import Rejection

__all__ = ["read_body"]


async def read_body(request: Request, *, limit: int, seconds: float) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Rejection(400, "content_length_malformed")
        if int(declared) > limit:
            raise Rejection(413, "body_too_large")
    try:
        async with asyncio.timeout(seconds):
            return await _collect(request, limit)
    except TimeoutError:
        raise Rejection(408, "body_too_slow") from None
    except ClientDisconnect:
        raise Rejection(400, "body_incomplete") from None


async def _collect(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Rejection(413, "body_too_large")
        chunks.append(chunk)
    return b"".join(chunks)
