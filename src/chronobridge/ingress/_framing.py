"""What a webhook request must look like before anything is stored (pure functions).

Every check answers a 4xx `Rejection` with a short reason code that goes to the metrics and
the log; the code never carries the request's values. HTTP statuses follow reliability WH-3:
401/403 for authentication, 400/413/415 for framing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from chronobridge.catalog import CATALOG, PING, WebhookEvent

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "ParsedBody",
    "Rejection",
    "check_content_type",
    "check_delivery_id",
    "check_event_name",
    "parse_body",
]

EVENT_HEADER = "x-drchrono-event"
SIGNATURE_HEADER = "x-drchrono-signature"
DELIVERY_HEADER = "x-drchrono-delivery"

_EVENT_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
# Free of ':' (workflow ids join their parts with it) and of white space; 128 characters.
_DELIVERY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~+=/-]{0,127}")
_OBJECT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class Rejection(Exception):
    """A 4xx answer: `status` and a reason code safe for logs and metric labels."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedBody:
    """What the inbox keeps in plain text about a delivery: the event and DrChrono ids."""

    event: WebhookEvent | None
    """None for an event this hub does not know (stored as `ignored`)."""
    object_id: str | None


def check_content_type(value: str | None) -> None:
    media = (value or "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise Rejection(415, "content_type")


def check_event_name(value: str | None) -> str:
    if not value:
        raise Rejection(400, "event_missing")
    if _EVENT_NAME.fullmatch(value) is None:
        raise Rejection(400, "event_malformed")
    return value


def check_delivery_id(value: str | None, *, event: str) -> str | None:
    """The delivery id; a PING may come without one (it is never stored)."""
    if not value:
        if event == PING:
            return None
        raise Rejection(400, "delivery_missing")
    if _DELIVERY_ID.fullmatch(value) is None:
        raise Rejection(400, "delivery_malformed")
    return value


def parse_body(body: bytes, *, event: str) -> ParsedBody:
    """`{"receiver": ..., "object": {...}}`; a known event's object needs its id."""
    document = _json_object(body)
    obj = document.get("object")
    if obj is not None and not isinstance(obj, dict):
        raise Rejection(400, "object_malformed")
    spec = CATALOG.event(event)
    object_id = _object_id(obj or {})
    if spec is not None and object_id is None:
        raise Rejection(400, "object_id_missing")
    return ParsedBody(event=spec, object_id=object_id)


def _json_object(body: bytes) -> dict[str, Any]:
    if not body:
        raise Rejection(400, "body_empty")
    try:
        document = orjson.loads(body)  # strict UTF-8 JSON, as DrChrono sends
    except (ValueError, RecursionError):
        raise Rejection(400, "body_not_json") from None
    if not isinstance(document, dict):
        raise Rejection(400, "body_not_object")
    return document


def _object_id(obj: dict[str, Any]) -> str | None:
    value = obj.get("id")
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value)
    return text if _OBJECT_ID.fullmatch(text) else None
