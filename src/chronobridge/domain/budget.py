"""The API budget policy: who may spend DrChrono's hourly calls, and when the window turns.

DrChrono allows a fixed number of calls per hour per API application (500 by default), reset at
the top of the hour (facts §rate limit). Every caller shares that one budget, so the budget keeps
a reserve: background work stops early and leaves the last calls of the hour to the work a person
is waiting for. Pure functions; the store applies them atomically (store/_budget.py).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from enum import StrEnum

WINDOW = timedelta(hours=1)


class Priority(StrEnum):
    """Who is asking, highest first."""

    INTERACTIVE = "interactive"  # a person waits on the answer (UI, CLI, iframe)
    WEBHOOK = "webhook"  # fetching the object a webhook pointed at
    POLL = "poll"  # incremental / reconciliation polls
    BACKFILL = "backfill"  # the first full sync of a resource


# Share of the hourly limit each priority must leave untouched for the ones above it:
# the last 10 % is for interactive calls only, the last 25 % for interactive and webhook
# fetches, and a backfill stops at 60 % so that polls still find room in a busy hour.
RESERVED_SHARE: dict[Priority, float] = {
    Priority.INTERACTIVE: 0.0,
    Priority.WEBHOOK: 0.10,
    Priority.POLL: 0.25,
    Priority.BACKFILL: 0.40,
}


def ceiling(priority: Priority, limit: int) -> int:
    """How many calls of the window may be used, at most, once this priority's call is counted."""
    if limit <= 0:
        return 0
    return limit - math.ceil(limit * RESERVED_SHARE[priority])


def allows(priority: Priority, *, used: int, limit: int, cost: int = 1) -> bool:
    """Whether `cost` more calls at `priority` fit after `used` calls of this window."""
    return used + cost <= ceiling(priority, limit)


def window_start(now: datetime) -> datetime:
    """The top of the hour (UTC) that opens the window `now` falls in."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    utc = now.astimezone(UTC)
    return utc.replace(minute=0, second=0, microsecond=0)


def window_end(now: datetime) -> datetime:
    """When the window `now` falls in resets."""
    return window_start(now) + WINDOW


def windows_between(start: datetime, end: datetime, *, most: int = 48) -> list[datetime]:
    """The window starts from `start`'s window up to `end`'s, capped at `most` windows."""
    first, last = window_start(start), window_start(end)
    out: list[datetime] = []
    current = first
    while current <= last and len(out) < most:
        out.append(current)
        current += WINDOW
    return out
