"""In-process implementations of the ports, for tests, scripts and the embedded demo."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from chronobridge.client._ports import CallRecord, Priority
from chronobridge.errors import BudgetExhausted, NeedsReconnect

__all__ = ["MemoryBudget", "MemoryObserver", "MemoryTokenSource"]

Refresher = Callable[[], Awaitable[str]]


class MemoryTokenSource:
    """Holds one access token; `refresh` (if given) fetches a new one, one caller at a time."""

    def __init__(self, access_token: str, *, refresh: Refresher | None = None) -> None:
        self._token = access_token
        self._refresh = refresh
        self._lock = asyncio.Lock()
        self.refreshes = 0
        self.dead = False

    async def access_token(self) -> str:
        return self._token

    async def refreshed(self, stale_token: str) -> str:
        async with self._lock:
            if self._token != stale_token:
                return self._token  # another caller refreshed while we waited
            if self._refresh is None:
                raise NeedsReconnect("The access token was refused and cannot be refreshed.")
            self._token = await self._refresh()
            self.refreshes += 1
            return self._token

    async def rejected(self, fresh_token: str) -> NeedsReconnect:
        self.dead = True
        return NeedsReconnect("DrChrono refused the access token even after a refresh.")

    def __repr__(self) -> str:
        return f"MemoryTokenSource(refreshes={self.refreshes})"


class MemoryBudget:
    """Counts reservations per priority and remembers parks; `limit` makes it run out."""

    def __init__(
        self, *, limit: int | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.limit = limit
        self._clock = clock or (lambda: datetime.now(UTC))
        self.reserved: Counter[Priority] = Counter()
        self.parked_until: datetime | None = None
        self.parks: list[datetime] = []

    @property
    def used(self) -> int:
        return sum(self.reserved.values())

    async def reserve(self, priority: Priority) -> None:
        if self.limit is not None and self.used >= self.limit:
            now = self._clock()
            top = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            raise BudgetExhausted(resume_at=max(top, self.parked_until or top))
        self.reserved[priority] += 1

    async def park(self, until: datetime) -> None:
        self.parks.append(until)
        if self.parked_until is None or until > self.parked_until:
            self.parked_until = until


class MemoryObserver:
    """Keeps every call record in a list."""

    def __init__(self) -> None:
        self.calls: list[CallRecord] = []

    async def observe(self, call: CallRecord) -> None:
        self.calls.append(call)
