"""Webhook registrations (one per application), the delivery log and the retry schedule.

Plain data and bookkeeping; `_webhook_sender` does the HTTP. A record change becomes one
`Delivery` per interested, verified registration; its body is fixed when the event happens, and
retries (+1 h, +3 h, +7 h after the event, on the emulator clock) resend the same bytes with the
same delivery id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chronobridge.catalog import PING
from chronobridge.emulator._records import Change
from chronobridge.emulator._state import EmulatorState
from chronobridge.emulator._webhook_events import Fired, events_for, render_object

RETRY_AFTER = (timedelta(hours=1), timedelta(hours=3), timedelta(hours=7))
MAX_LOG = 5000
SIGNATURE_MODES = ("secret", "hmac")


@dataclass(slots=True, kw_only=True)
class Registration:
    id: int
    client_id: str
    url: str
    secret: str
    events: frozenset[str] | None = None  # None: every event
    active: bool = True
    verified: bool = False
    verification: dict[str, Any] | None = None
    signature: str = "secret"
    timeout: float = 5.0

    def wants(self, event: str) -> bool:
        return self.events is None or event in self.events

    def receiver(self) -> dict[str, Any]:
        """The registration as deliveries carry it: everything but the secret."""
        return {
            "id": self.id,
            "client_id": self.client_id,
            "url": self.url,
            "events": sorted(self.events) if self.events is not None else "all",
            "active": self.active,
            "verified": self.verified,
        }

    def json(self) -> dict[str, Any]:
        extra = {"verification": self.verification, "signature": self.signature}
        return {**self.receiver(), **extra, "timeout": self.timeout}

    def snapshot(self) -> dict[str, Any]:
        return {**self.json(), "secret": self.secret}


@dataclass(slots=True, kw_only=True)
class Attempt:
    kind: str  # original, retry, redeliver, duplicate
    at: datetime
    status: int | None
    error: str | None = None
    latency_ms: float = 0.0
    fault: str | None = None

    def json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "at": self.at.isoformat(),
            "status": self.status,
            "error": self.error,
            "latency_ms": round(self.latency_ms, 1),
            "fault": self.fault,
        }


@dataclass(slots=True, kw_only=True)
class Delivery:
    id: str
    client_id: str
    event: str
    resource: str | None
    object_id: int | None
    created_at: datetime
    body: bytes
    retries: bool = True  # manual pings are not retried
    attempts: list[Attempt] = field(default_factory=list)
    retries_done: int = 0
    next_retry_at: datetime | None = None
    delivered: bool = False

    @property
    def status(self) -> str:
        if self.delivered:
            return "delivered"
        if not self.attempts:
            return "pending"
        return "retrying" if self.next_retry_at is not None else "failed"

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "client_id": self.client_id,
            "event": self.event,
            "resource": self.resource,
            "object_id": self.object_id,
            "created_at": self.created_at.isoformat(),
            "status": self.status,
            "retries_done": self.retries_done,
            "next_retry_at": self.next_retry_at.isoformat() if self.next_retry_at else None,
            "attempts": [a.json() for a in self.attempts],
        }


class WebhookRegistry:
    """`state.extensions["webhooks"]`: registrations, the delivery log and the outbox."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.registrations: dict[str, Registration] = {}
        self.deliveries: OrderedDict[str, Delivery] = OrderedDict()
        self.outbox: deque[tuple[str, str]] = deque()
        self.next_id = 1
        self.startup_pending: set[str] = set()  # registered by flags, verified by the sender
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    # --- the sender's side ----------------------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop, self._wake = loop, asyncio.Event()

    def wake(self) -> None:
        """Changes may come from any thread (tests change records directly)."""
        loop, event = self._loop, self._wake
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(event.set)

    async def sleep(self, seconds: float) -> None:
        if self._wake is None:
            await asyncio.sleep(seconds)
            return
        # Not asyncio.wait_for: on 3.11 it can swallow a cancellation that arrives as the event
        # is set, and the sender would then never stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        self._wake.clear()

    def take(self) -> list[tuple[Delivery, str]]:
        """Queued attempts plus the retries that are due on the emulator clock."""
        now = self.state.clock.now()
        with self._lock:
            work = [(self.deliveries[i], kind) for i, kind in self.outbox if i in self.deliveries]
            self.outbox.clear()
            for delivery in self.deliveries.values():
                if delivery.next_retry_at is not None and delivery.next_retry_at <= now:
                    delivery.next_retry_at = None
                    delivery.retries_done += 1
                    work.append((delivery, "retry"))
        return work

    def record(self, delivery: Delivery, attempt: Attempt) -> None:
        with self._lock:
            delivery.attempts.append(attempt)
            if attempt.status is not None and 200 <= attempt.status < 300:
                delivery.delivered, delivery.next_retry_at = True, None
            elif self._retries_left(delivery, attempt):
                step = RETRY_AFTER[delivery.retries_done]
                delivery.next_retry_at = delivery.created_at + step
        self.wake()

    @staticmethod
    def _retries_left(delivery: Delivery, attempt: Attempt) -> bool:
        scheduled = attempt.kind in ("original", "retry") and delivery.retries
        return scheduled and not delivery.delivered and delivery.retries_done < len(RETRY_AFTER)

    # --- events -------------------------------------------------------------------------------

    def on_change(self, change: Change) -> None:
        """RecordStore listener: runs inside the request that changed the record; never blocks."""
        fired = events_for(change, self.state.records)
        if not fired:
            return
        for registration in self._listening(change.practice):
            for item in fired:
                if registration.wants(item.event):
                    self._enqueue(self._delivery(registration, item, change.at))

    def ping(self, registration: Registration) -> Delivery:
        delivery = self._new(registration, PING, None, None, {}, self.state.clock.now())
        delivery.retries = False
        self._enqueue(delivery)
        return delivery

    def redeliver(self, delivery: Delivery) -> None:
        with self._lock:
            self.outbox.append((delivery.id, "redeliver"))
        self.wake()

    def _listening(self, practice: int) -> list[Registration]:
        return [
            r
            for r in list(self.registrations.values())
            if r.active and r.verified and self._serves(r.client_id, practice)
        ]

    def _serves(self, client_id: str, practice: int) -> bool:
        """An application hears a practice's events once someone there has authorized it."""
        users = self.state.users
        return any(
            cid == client_id and uid in users and users[uid].practice_group == practice
            for cid, uid in set(self.state.authorizations)
        )

    def _delivery(self, registration: Registration, item: Fired, at: datetime) -> Delivery:
        body = render_object(self.state, item.resource, item.id, item.record)
        return self._new(registration, item.event, item.resource, item.id, body, at)

    def _new(
        self,
        registration: Registration,
        event: str,
        resource: str | None,
        object_id: int | None,
        obj: dict[str, Any],
        at: datetime,
    ) -> Delivery:
        payload = {"receiver": registration.receiver(), "object": obj}
        return Delivery(
            id=str(uuid.uuid4()),
            client_id=registration.client_id,
            event=event,
            resource=resource,
            object_id=object_id,
            created_at=at,
            body=json.dumps(payload, default=str).encode("utf-8"),
        )

    def _enqueue(self, delivery: Delivery) -> None:
        with self._lock:
            self.deliveries[delivery.id] = delivery
            while len(self.deliveries) > MAX_LOG:
                self.deliveries.popitem(last=False)
            self.outbox.append((delivery.id, "original"))
        self.wake()

    # --- queries and persistence --------------------------------------------------------------

    def log(self, client_id: str) -> Iterator[Delivery]:
        with self._lock:
            found = [d for d in self.deliveries.values() if d.client_id == client_id]
        return iter(found)

    def snapshot(self) -> dict[str, Any]:
        return {
            "next_id": self.next_id,
            "registrations": [r.snapshot() for r in self.registrations.values()],
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Registrations from a state file; a `--webhook-url` given this run wins if it differs."""
        flagged = {
            c: self.registrations[c] for c in self.startup_pending if c in self.registrations
        }
        self.next_id = int(data.get("next_id", 1))
        self.registrations = {}
        for saved in data.get("registrations", []):
            events = saved.get("events")
            registration = Registration(
                id=int(saved["id"]),
                client_id=saved["client_id"],
                url=saved["url"],
                secret=saved["secret"],
                events=None if events in (None, "all") else frozenset(events),
                active=bool(saved.get("active", True)),
                verified=bool(saved.get("verified", False)),
                verification=saved.get("verification"),
                signature=saved.get("signature", "secret"),
                timeout=float(saved.get("timeout", 5.0)),
            )
            self.registrations[registration.client_id] = registration
        for client_id, registration in flagged.items():
            kept = self.registrations.get(client_id)
            if kept is None or (kept.url, kept.secret) != (registration.url, registration.secret):
                self.registrations[client_id] = registration
            elif kept.verified:
                self.startup_pending.discard(client_id)
