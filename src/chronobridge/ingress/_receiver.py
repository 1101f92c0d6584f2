"""The webhook receiver: the handshake, and a delivery from headers and raw body to an answer.

    answer = await receiver.receive(ref, headers, body, started=time.perf_counter())

Order (each step answers 4xx and stores nothing when it fails): event and delivery headers,
the signature against the candidate applications' secrets (constant time), PING (answered,
never stored), then the inbox writer: the JSON body and the object's id are checked there, off
the event loop, and the delivery, encrypted, and its job commit together before the 200. An
event this hub does not know, correctly signed, is stored as `ignored` (no job) and answered
200, so DrChrono stops resending it (WH-14). The answer's body names the outcome only; nothing
from the request is echoed. A refusal is counted (metrics, and the refusal log's per-minute
counts: `_refusals`), never stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from chronobridge.catalog import PING
from chronobridge.ingress._apps import AppSecret, WebhookApps
from chronobridge.ingress._framing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    Rejection,
    check_delivery_id,
    check_event_name,
)
from chronobridge.ingress._inbox_batch import ANSWERED, UNAVAILABLE
from chronobridge.ingress._metrics import ACK_SECONDS, RECEIVED, REJECTED
from chronobridge.ingress._refusals import RefusalLog
from chronobridge.ingress._signature import SignatureMode, match_signature, verification_token
from chronobridge.ingress._writer import InboxWriter, Unavailable

__all__ = ["Answer", "WebhookReceiver", "rejected"]

log = logging.getLogger("chronobridge.ingress")


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, str] = field(default_factory=dict)


_OUTCOMES = {name: RECEIVED.labels(name) for name in (*ANSWERED, "ping")}
_ANSWERS = {name: Answer(200, {"status": name}) for name in (*ANSWERED, "ping")}
_UNAVAILABLE = Answer(503, {"error": "unavailable"})


class WebhookReceiver:
    def __init__(
        self,
        *,
        apps: WebhookApps,
        writer: InboxWriter,
        mode: SignatureMode = SignatureMode.ANY,
        refusals: RefusalLog | None = None,
    ) -> None:
        self.apps = apps
        self.writer = writer
        self.mode = mode
        self.refusals = refusals if refusals is not None else RefusalLog()

    async def verify(self, ref: str | None, msg: str | None) -> Answer:
        """The handshake: `{"secret_token": hex HMAC-SHA256(secret, msg)}`; no writes."""
        try:
            if msg is None:
                raise Rejection(400, "msg_missing")
            app = await self.apps.for_verification(ref)
        except Rejection as rejection:
            return self.refuse(rejection, ref=ref)
        return Answer(200, {"secret_token": verification_token(app.secret, msg)})

    def refuse(
        self, rejection: Rejection, *, ref: str | None = None, event: str | None = None
    ) -> Answer:
        """The answer to a refused request, counted in the metrics and the refusal log."""
        self.refusals.note(rejection.reason, ref=ref, event=event)
        return rejected(rejection)

    async def receive(
        self, ref: str | None, headers: Mapping[str, str], body: bytes, *, started: float
    ) -> Answer:
        try:
            outcome = await self._receive(ref, headers, body)
        except Rejection as rejection:
            return self.refuse(rejection, ref=ref, event=headers.get(EVENT_HEADER))
        except Unavailable as unavailable:
            REJECTED.labels("unavailable").inc()
            self.refusals.note("unavailable", ref=ref, event=headers.get(EVENT_HEADER))
            log.warning("Webhook answered 503: the inbox is unavailable (%s)", unavailable)
            return _UNAVAILABLE
        ACK_SECONDS.observe(time.perf_counter() - started)
        _OUTCOMES[outcome].inc()
        return _ANSWERS[outcome]

    async def _receive(self, ref: str | None, headers: Mapping[str, str], body: bytes) -> str:
        """The outcome: `stored`, `ignored`, `duplicate` or `ping`."""
        event = check_event_name(headers.get(EVENT_HEADER))
        delivery_id = check_delivery_id(headers.get(DELIVERY_HEADER), event=event)
        app, matched = await self._authenticate(ref, headers.get(SIGNATURE_HEADER), body)
        if event == PING or delivery_id is None:
            return "ping"
        outcome = await self.writer.write((app.id, delivery_id, event, matched, time.time(), body))
        if outcome in ANSWERED:
            return outcome
        if outcome == UNAVAILABLE:
            raise Unavailable("not stored")
        raise Rejection(400, outcome)  # the body: not JSON, or no usable object id

    async def _authenticate(
        self, ref: str | None, signature: str | None, body: bytes
    ) -> tuple[AppSecret, str]:
        if not signature:
            raise Rejection(401, "signature_missing")
        candidates = await self.apps.candidates(ref)
        if not candidates:
            raise Rejection(403, "no_webhook_secret")
        for app in candidates:
            matched = match_signature(self.mode, app.secret, signature, body)
            if matched is not None:
                return app, matched
        raise Rejection(403, "signature_mismatch")


def rejected(rejection: Rejection) -> Answer:
    """The answer to a refused request, counted by reason."""
    REJECTED.labels(rejection.reason).inc()
    log.debug("Webhook request refused: %s (%s)", rejection.reason, rejection.status)
    return Answer(rejection.status, {"error": rejection.reason})
