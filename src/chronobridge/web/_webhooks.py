"""`/webhooks/drchrono[/<app>]`: DrChrono's verification GET and its delivery POSTs.

The route only frames HTTP: content type and body limits here, everything else in
`chronobridge.ingress.WebhookReceiver`. Answers are small JSON documents naming the outcome;
nothing from the request is ever echoed, and no exception text reaches the answer or the log.
"""

from __future__ import annotations

import json
import logging
import time

from fastapi import APIRouter, Request
from fastapi.responses import Response

from chronobridge.ingress import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    Answer,
    Rejection,
    WebhookReceiver,
    check_content_type,
    rejected,
)
from chronobridge.web._body import read_body
from chronobridge.web._state import state_of

__all__ = ["router"]

log = logging.getLogger("chronobridge.web")
router = APIRouter()
_SINGLE = (EVENT_HEADER, SIGNATURE_HEADER, DELIVERY_HEADER)


@router.get("/webhooks/drchrono", include_in_schema=False)
async def verify_default(request: Request) -> Response:
    return await _verify(request, None)


@router.get("/webhooks/drchrono/{ref}", include_in_schema=False)
async def verify_named(request: Request, ref: str) -> Response:
    return await _verify(request, ref)


@router.post("/webhooks/drchrono", include_in_schema=False)
async def receive_default(request: Request) -> Response:
    return await _receive(request, None)


@router.post("/webhooks/drchrono/{ref}", include_in_schema=False)
async def receive_named(request: Request, ref: str) -> Response:
    return await _receive(request, ref)


async def _verify(request: Request, ref: str | None) -> Response:
    receiver = state_of(request).receiver
    return _json(await receiver.verify(ref, request.query_params.get("msg")))


async def _receive(request: Request, ref: str | None) -> Response:
    started = time.perf_counter()
    state = state_of(request)
    try:
        headers = _headers(request)
        body = await read_body(request, limit=state.max_body, seconds=state.read_timeout)
    except Rejection as rejection:
        return _json(rejected(rejection))
    return _json(await _answer(state.receiver, ref, headers, body, started))


async def _answer(
    receiver: WebhookReceiver, ref: str | None, headers: dict[str, str], body: bytes, t0: float
) -> Answer:
    try:
        return await receiver.receive(ref, headers, body, started=t0)
    except Exception as error:
        log.error("Webhook handler failed (%s)", type(error).__name__)  # no text: it may echo
        return Answer(500, {"error": "internal"})


def _headers(request: Request) -> dict[str, str]:
    """DrChrono's three headers, each at most once; then the content type."""
    found: dict[str, str] = {}
    for name in _SINGLE:
        values = request.headers.getlist(name)
        if len(values) > 1:
            raise Rejection(400, "header_repeated")
        if values:
            found[name] = values[0]
    check_content_type(request.headers.get("content-type"))
    return found


def _json(answer: Answer) -> Response:
    content = json.dumps(answer.body, separators=(",", ":")).encode()
    return Response(content, status_code=answer.status, media_type="application/json")
