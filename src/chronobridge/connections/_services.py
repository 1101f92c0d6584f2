"""What every part of the connections package shares: the store, the clock, the HTTP transport,
the budget wait policy, the metrics, and the per-process token sources.

`Services` is built once per process by the composition root (`chronobridge.wiring`). Tests build
it with an in-process transport (the emulator over ASGI) or a moved clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx2

from chronobridge.connections._metrics import HubMetrics
from chronobridge.domain.budget import Priority
from chronobridge.store import Database

if TYPE_CHECKING:
    from chronobridge.connections._tokens import ConnectionTokens

__all__ = ["Clock", "Services", "Sleep", "WaitPolicy", "offset_clock"]

DEFAULT_WINDOW_MARGIN = timedelta(seconds=5)
Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]


def offset_clock(offset: timedelta = timedelta(0)) -> Clock:
    """The system clock moved by `offset` (tests and demos align the hub with an emulator)."""
    if not offset:
        return lambda: datetime.now(UTC)
    return lambda: datetime.now(UTC) + offset


@dataclass(frozen=True, kw_only=True)
class WaitPolicy:
    """How long a caller may wait for the shared budget before `BudgetExhausted` reaches it.

    A person waiting on the CLI or the UI gets the error at once, with the time the budget
    resumes: better than a frozen screen. Background work (webhook fetches, polls, backfills)
    waits out a short pause (a 429 park of a few seconds, the last minute of an hour) and
    otherwise gives up, so that its durable job is rescheduled instead of holding a worker.
    """

    interactive_seconds: float = 0.0
    background_seconds: float = 120.0

    def bound(self, priority: Priority) -> float:
        if priority is Priority.INTERACTIVE:
            return self.interactive_seconds
        return self.background_seconds


@dataclass(frozen=True, kw_only=True)
class Services:
    """The collaborators of the connection code. One per process (it holds the token sources
    whose asyncio locks make refreshes single-flight inside the process)."""

    db: Database
    clock: Clock = field(default_factory=offset_clock)
    sleep: Sleep = asyncio.sleep
    transport: httpx2.AsyncBaseTransport | None = None
    policy: WaitPolicy = field(default_factory=WaitPolicy)
    metrics: HubMetrics = field(default_factory=HubMetrics)
    oauth_timeout: float = 10.0  # under the SQLite busy timeout: a refresh holds the write lock
    # A call this close to the top of the hour counts in both windows: DrChrono's clock is not
    # ours, and a call takes a moment to arrive (a few seconds of the next hour, at most).
    window_margin: timedelta = DEFAULT_WINDOW_MARGIN
    # Seconds a token source trusts its token in memory before reading the stored row again
    # (clients of `open_client` check the connection's status on every call anyway).
    token_recheck: float = 2.0
    # The client id the environment describes (CHRONOBRIDGE_CLIENT_ID): errors about that app's
    # settings name the environment variable; about any other, `chronobridge apps update`.
    environment_client_id: str | None = None
    sources: dict[int, ConnectionTokens] = field(default_factory=dict, repr=False)

    def now(self) -> datetime:
        return self.clock()
