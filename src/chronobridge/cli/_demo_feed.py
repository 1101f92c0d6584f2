"""The demo's live feed: each change event as it reaches the store, with an honest delay.

A change that came by webhook is timed from the emulator's own clock: the delivery's
`created_at` in the emulator's delivery log is the instant the record changed, to the
microsecond, and the event's `detected_at` is when the hub stored it (same machine). A change
that came another way (a poll) can only be timed from DrChrono's `updated_at`, which has whole
seconds: that delay is shown to the second, and marked so.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import httpx2

from chronobridge.store import StoredEvent

__all__ = ["Feed"]


@dataclass
class Feed:
    """What the feed has shown so far (it survives an interrupt)."""

    emulator_url: str
    client_id: str
    counts: Counter[str] = field(default_factory=Counter)
    webhook_delays: list[float] = field(default_factory=list)

    async def line(self, http: httpx2.AsyncClient, event: StoredEvent) -> str:
        """The event's line; counts it."""
        self.counts[event.source] += 1
        delay = await self._delay(http, event)
        return (f"  {event.detected_at:%H:%M:%S}  {event.source:<9} {event.resource:<24} "
                f"{event.external_id:<12} {event.kind:<8}{delay}")  # fmt: skip

    async def _delay(self, http: httpx2.AsyncClient, event: StoredEvent) -> str:
        changed = await self._changed_at(http, event.delivery_id)
        if changed is not None:
            seconds = max((event.detected_at - changed).total_seconds(), 0.0)
            self.webhook_delays.append(seconds)
            return f"  +{seconds:.2f} s after the change"
        if event.updated_at is None:
            return ""
        seconds = max((event.detected_at - event.updated_at).total_seconds(), 0.0)
        return f"  +{seconds:.0f} s after the change (to the second: updated_at)"

    async def _changed_at(
        self, http: httpx2.AsyncClient, delivery_id: str | None
    ) -> datetime | None:
        """When the emulator made the change this delivery announced (its delivery log)."""
        if delivery_id is None:
            return None
        path = f"{self.emulator_url}/_emulator/webhooks/{self.client_id}/deliveries/{delivery_id}"
        try:
            answer = await http.get(path)
            return (
                datetime.fromisoformat(answer.json()["created_at"]) if answer.is_success else None
            )
        except (httpx2.HTTPError, ValueError, KeyError, TypeError):
            return None

    def summary(self) -> str:
        """How many changes, by source, and the webhooks' delay."""
        total = sum(self.counts.values())
        by_source = ", ".join(f"{n} by {source}" for source, n in self.counts.most_common())
        text = f"{total} live changes reached the store ({by_source or 'none'})."
        delays = sorted(self.webhook_delays)
        if delays:
            p95 = delays[int(0.95 * (len(delays) - 1))]
            text += (f"\nThrough webhooks, from the change in the emulator to the store: median "
                     f"{statistics.median(delays):.2f} s, 95th percentile {p95:.2f} s, "
                     f"slowest {delays[-1]:.2f} s.")  # fmt: skip
        return text
