"""The emulator's clock: real time plus an offset that tests move through the control API."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """Timezone-aware UTC time that can be frozen, moved forward or set."""

    def __init__(self, *, frozen_at: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen = frozen_at

    def now(self) -> datetime:
        with self._lock:
            base = self._frozen if self._frozen is not None else datetime.now(UTC)
            return base + self._offset

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._offset += delta
        return self.now()

    def set(self, when: datetime) -> datetime:
        if when.tzinfo is None:
            raise ValueError("the clock needs a timezone-aware time")
        with self._lock:
            base = self._frozen if self._frozen is not None else datetime.now(UTC)
            self._offset = when - base
        return self.now()

    def freeze(self, *, frozen: bool) -> None:
        with self._lock:
            if frozen and self._frozen is None:
                self._frozen = datetime.now(UTC)
            elif not frozen and self._frozen is not None:
                self._offset += self._frozen - datetime.now(UTC)
                self._frozen = None
