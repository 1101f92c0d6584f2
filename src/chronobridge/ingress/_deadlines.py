"""Deadlines for many waits that all have the same timeout, on one timer.

A webhook request waits twice: for its body (at most `read_timeout`) and for its batch's commit
(at most `ack_timeout`). A timer per wait (`asyncio.timeout`, `call_later`) costs more CPU than
verifying the delivery; but every wait of one kind has the same timeout, so deadlines fall due
in the order the waits started, and one timer at the oldest deadline serves them all.

    deadlines = Deadlines(1.5, expire=lambda future: future.set_exception(Late()))
    deadlines.add(future)             # `expire(future)` in 1.5 s unless it is done by then

`done(target)` says whether a wait ended (its entry is then skipped and dropped); `expire` is
called on the event loop, once, for each target not done when its deadline passes.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Deadlines"]

T = TypeVar("T")


class Deadlines(Generic[T]):
    def __init__(
        self, seconds: float, *, expire: Callable[[T], None], done: Callable[[T], bool]
    ) -> None:
        self.seconds = seconds
        self._expire = expire
        self._done = done
        self._entries: deque[tuple[float, T]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def add(self, target: T) -> None:
        """Watch `target` from now on (call on the event loop)."""
        loop = asyncio.get_running_loop()
        entries = self._entries
        while entries and self._done(entries[0][1]):  # waits that ended keep no memory
            entries.popleft()
        entries.append((loop.time() + self.seconds, target))
        if self._timer is None:
            self._timer = loop.call_at(entries[0][0], self._fire)

    def __len__(self) -> int:
        return len(self._entries)

    def close(self) -> None:
        """Forget every wait (nothing expires any more)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._entries.clear()

    def _fire(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now, entries = loop.time(), self._entries
        while entries and (entries[0][0] <= now or self._done(entries[0][1])):
            _, target = entries.popleft()
            if not self._done(target):
                self._expire(target)
        if entries:
            self._timer = loop.call_at(entries[0][0], self._fire)
