"""`/webhooks/drchrono[/<app>]`: DrChrono's verification GET and its delivery POSTs.

The route only frames HTTP: content type and body limits here, everything else in
`chronobridge.ingress.WebhookReceiver`. Answers are small JSON documents naming the outcome;
nothing from the request is ever echoed, and no exception text reaches the answer or the log.

The endpoint is a plain ASGI app behind a Starlette route (the route still answers 405 for other
methods): this is the hot path, and it needs neither FastAPI's dependency injection nor
Starlette's `Request` and `Response` objects, which together cost more CPU per request than
verifying the delivery.
"""

from __future__ import annotations

import json
import logging
import time

from starlette.requests import Request
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from chronobridge.errors import ConfigError
from chronobridge.ingress import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    Answer,
    Rejection,
    WebhookReceiver,
    check_content_type,
)
from chronobridge.web._body import BodyReads
from chronobridge.web._state import WebState

__all__ = ["WebhookEndpoint", "routes"]

log = logging.getLogger("chronobridge.web")
_SINGLE = frozenset(
    name.encode("latin-1") for name in (EVENT_HEADER, SIGNATURE_HEADER, DELIVERY_HEADER)
)


class WebhookEndpoint:
    """GET: the verification handshake; POST: a delivery. The optional path parameter names
    the application (its client id or id)."""

    def __init__(self) -> None:
        self._reads: BodyReads | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = _state(scope)
        ref = scope["path_params"].get("ref")
        if scope["method"] == "POST":
            answer = await self._receive(state, scope, receive, ref)
        else:
            msg = Request(scope).query_params.get("msg")
            answer = await state.receiver.verify(ref, msg)
        await _respond(send, answer)

    async def _receive(
        self, state: WebState, scope: Scope, receive: Receive, ref: str | None
    ) -> Answer:
        started = time.perf_counter()
        try:
            headers, declared = _headers(scope)
            body = await self._body_reads(state).read(
                receive, declared=declared, limit=state.max_body
            )
        except Rejection as rejection:
            return state.receiver.refuse(rejection, ref=ref)
        return await _answer(state.receiver, ref, headers, body, started)

    def _body_reads(self, state: WebState) -> BodyReads:
        if self._reads is None or self._reads.seconds != state.read_timeout:
            self._reads = BodyReads(seconds=state.read_timeout)
        return self._reads


def routes() -> list[BaseRoute]:
    endpoint = WebhookEndpoint()
    methods = ["GET", "POST"]
    return [
        Route("/webhooks/drchrono", endpoint, methods=methods, include_in_schema=False),
        Route("/webhooks/drchrono/{ref}", endpoint, methods=methods, include_in_schema=False),
    ]


def _state(scope: Scope) -> WebState:
    state = getattr(scope["app"].state, "web", None)
    if not isinstance(state, WebState):
        raise ConfigError("The web app is not started (its lifespan did not run).")
    return state


async def _answer(
    receiver: WebhookReceiver, ref: str | None, headers: dict[str, str], body: bytes, t0: float
) -> Answer:
    try:
        return await receiver.receive(ref, headers, body, started=t0)
    except Exception as error:
        log.error("Webhook handler failed (%s)", type(error).__name__)  # no text: it may echo
        return Answer(500, {"error": "internal"})


def _headers(scope: Scope) -> tuple[dict[str, str], int | None]:
    """DrChrono's three headers, each at most once, and the content type and length: one pass
    over the raw headers (latin-1, as HTTP/1.1 defines them; ASGI gives lower-case names)."""
    found: dict[str, str] = {}
    content_type: bytes | None = None
    length: bytes | None = None
    for name, value in scope["headers"]:
        if name in _SINGLE:
            key = name.decode("latin-1")
            if key in found:
                raise Rejection(400, "header_repeated")
            found[key] = value.decode("latin-1")
        elif name == b"content-type" and content_type is None:
            content_type = value
        elif name == b"content-length" and length is None:
            length = value
    check_content_type(content_type.decode("latin-1") if content_type is not None else None)
    if length is None:
        return found, None
    if not length.isdigit():
        raise Rejection(400, "content_length_malformed")
    return found, int(length)


async def _respond(send: Send, answer: Answer) -> None:
    content = _ENCODED.get(answer.status, {}).get(answer.body.get("status", ""))
    if content is None:
        content = json.dumps(answer.body, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(content))]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


_ENCODED = {
    200: {name: json.dumps({"status": name}, separators=(",", ":")).encode()
          for name in ("stored", "duplicate", "ignored", "ping")},
}  # fmt: skip
