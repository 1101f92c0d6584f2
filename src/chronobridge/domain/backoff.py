"""Capped exponential backoff: how long to wait before polling an async batch again.

Every poll is a call against the application's 500-per-hour budget, so the waits grow quickly
and the total is bounded by a deadline (a batch uuid lives one hour). Deterministic: no jitter,
because a poll is not a retry storm (each batch has one poller).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Waits of `initial`, `initial * factor`, ... never above `cap`; give up after `max_wait`."""

    initial: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    max_wait: float = 900.0

    def __post_init__(self) -> None:
        if not (0 < self.initial <= self.cap) or self.factor < 1 or self.max_wait <= 0:
            raise ValueError("backoff needs 0 < initial <= cap, factor >= 1 and max_wait > 0")

    def delay(self, attempt: int) -> float:
        """The wait before poll number `attempt` + 1 (attempt 0 is the first wait)."""
        exponent = min(max(attempt, 0), 64)
        try:
            return min(self.cap, self.initial * self.factor**exponent)
        except OverflowError:
            return self.cap

    def gives_up(self, waited: float) -> bool:
        return waited >= self.max_wait
