"""The webhook receiver: the handshake, and a delivery from headers and raw body to an answer.

    answer = await receiver.receive(ref, headers, body, started=time.perf_counter())

Order (each step answers 4xx and stores nothing when it fails): event and delivery headers,
the signature against the candidate applications' secrets (constant time), PING (answered,
never stored), the JSON body and the object's id, then the inbox: the delivery, encrypted,
and its job commit together before the 200. An event this hub does not know, correctly signed,
is stored as `ignored` (no job) and answered 200, so DrChrono stops resending it (WH-14).
The answer's body names the outcome only; nothing from the request is echoed. A refusal is
counted (metrics, and the refusal log's per-minute counts: `_refusals`), never stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from chronobridge.catalog import PING
from chronobridge.ingress._apps import AppSecret, WebhookApps
from chronobridge.ingress._framing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    ParsedBody,
    Rejection,
    check_delivery_id,
    check_event_name,
    parse_body,
)
from chronobridge.ingress._metrics import ACK_SECONDS, RECEIVED, REJECTED
from chronobridge.ingress._refusals import RefusalLog
from chronobridge.ingress._signature import SignatureMode, match_signature, verification_token
from chronobridge.ingress._writer import InboxWriter, Unavailable
from chronobridge.store import KeyRing, NewDelivery, encrypt_payload
from chronobridge.workers import job_id

__all__ = ["Answer", "WebhookReceiver", "delivery_job_id", "rejected"]

log = logging.getLogger("chronobridge.ingress")


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, str] = field(default_factory=dict)


_OUTCOMES = {name: RECEIVED.labels(name) for name in ("stored", "duplicate", "ignored", "ping")}


def delivery_job_id(app_id: int, delivery_id: str) -> str:
    """The processing job's workflow id: deterministic, so enqueueing twice is one job."""
    return job_id("webhook", app_id, delivery_id)


class WebhookReceiver:
    def __init__(
        self,
        *,
        apps: WebhookApps,
        writer: InboxWriter,
        keys: KeyRing,
        mode: SignatureMode = SignatureMode.ANY,
        ack_timeout: float = 1.5,
        refusals: RefusalLog | None = None,
    ) -> None:
        self.apps = apps
        self.writer = writer
        self.keys = keys
        self.mode = mode
        self.ack_timeout = ack_timeout
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
            answer = await self._receive(ref, headers, body)
        except Rejection as rejection:
            return self.refuse(rejection, ref=ref, event=headers.get(EVENT_HEADER))
        except Unavailable as unavailable:
            REJECTED.labels("unavailable").inc()
            self.refusals.note("unavailable", ref=ref, event=headers.get(EVENT_HEADER))
            log.warning("Webhook answered 503: the inbox is unavailable (%s)", unavailable)
            return Answer(503, {"error": "unavailable"})
        ACK_SECONDS.observe(time.perf_counter() - started)
        _OUTCOMES[answer.body["status"]].inc()
        return answer

    async def _receive(self, ref: str | None, headers: Mapping[str, str], body: bytes) -> Answer:
        event = check_event_name(headers.get(EVENT_HEADER))
        delivery_id = check_delivery_id(headers.get(DELIVERY_HEADER), event=event)
        app, matched = await self._authenticate(ref, headers.get(SIGNATURE_HEADER), body)
        if event == PING or delivery_id is None:
            return Answer(200, {"status": "ping"})
        parsed = parse_body(body, event=event)
        item = self._delivery(app, delivery_id, event, matched, body, parsed)
        written = await self.writer.write(item, within=self.ack_timeout)
        if not written.created:
            return Answer(200, {"status": "duplicate"})
        return Answer(200, {"status": "stored" if item.status == "received" else "ignored"})

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

    def _delivery(
        self,
        app: AppSecret,
        delivery_id: str,
        event: str,
        matched: str,
        body: bytes,
        parsed: ParsedBody,
    ) -> NewDelivery:
        known = parsed.event is not None
        return NewDelivery(
            app_id=app.id,
            delivery_id=delivery_id,
            event=event,
            received_at=datetime.now(UTC),
            signature_mode=matched,
            payload=encrypt_payload(self.keys, app.id, delivery_id, body),
            payload_bytes=len(body),
            object_id=parsed.object_id,
            resource=parsed.event.resource if parsed.event is not None else None,
            status="received" if known else "ignored",
            workflow_id=delivery_job_id(app.id, delivery_id) if known else None,
        )


def rejected(rejection: Rejection) -> Answer:
    """The answer to a refused request, counted by reason."""
    REJECTED.labels(rejection.reason).inc()
    log.debug("Webhook request refused: %s (%s)", rejection.reason, rejection.status)
    return Answer(rejection.status, {"error": rejection.reason})
