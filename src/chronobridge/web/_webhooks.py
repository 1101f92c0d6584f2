"""`/webhooks/drchrono[/<app>]`: DrChrono's verification GET and its delivery POSTs.

The route only frames HTTP: content type and body limits here, everything else in
`chronobridge.ingress.WebhookReceiver`. Answers are small JSON documents naming the outcome;
nothing from the request is ever echoed, and no exception text reaches the answer or the log.
"""

from __future__ import annotations

import json
import logging
import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from chronobridge.ingress import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    Answer,
    Rejection,
    WebhookReceiver,
    check_content_type,
)
from chronobridge.web._body import read_body
from chronobridge.web._state import state_of

__all__ = ["routes"]

log = logging.getLogger("chronobridge.web")
_SINGLE = frozenset((EVENT_HEADER, SIGNATURE_HEADER, DELIVERY_HEADER))


async def webhook(request: Request) -> Response:
    """GET: the verification handshake; POST: a delivery. The optional path parameter names
    the application (its client id or id)."""
    ref = request.path_params.get("ref")
    if request.method == "POST":
        return await _receive(request, ref)
    return await _verify(request, ref)


def routes() -> list[BaseRoute]:
    """Plain Starlette routes: this is the hot path, and it needs none of FastAPI's
    dependency injection (which costs more CPU per request than storing the delivery)."""
    methods = ["GET", "POST"]
    return [
        Route("/webhooks/drchrono", webhook, methods=methods, include_in_schema=False),
        Route("/webhooks/drchrono/{ref}", webhook, methods=methods, include_in_schema=False),
    ]


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
        return _json(state.receiver.refuse(rejection, ref=ref))
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
    """DrChrono's three headers, each at most once, and the content type: one pass over the
    raw headers (latin-1, as HTTP/1.1 defines them)."""
    found: dict[str, str] = {}
    content_type: str | None = None
    for raw_name, raw_value in request.scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        if name in _SINGLE:
            if name in found:
                raise Rejection(400, "header_repeated")
            found[name] = raw_value.decode("latin-1")
        elif name == "content-type" and content_type is None:
            content_type = raw_value.decode("latin-1")
    check_content_type(content_type)
    return found


def _json(answer: Answer) -> Response:
    content = _ENCODED.get(answer.status, {}).get(answer.body.get("status", ""))
    if content is None:
        content = json.dumps(answer.body, separators=(",", ":")).encode()
    return Response(content, status_code=answer.status, media_type="application/json")


_ENCODED = {
    200: {name: json.dumps({"status": name}, separators=(",", ":")).encode()
          for name in ("stored", "duplicate", "ignored", "ping")},
}  # fmt: skip
