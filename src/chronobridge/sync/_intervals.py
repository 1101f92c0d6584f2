"""Adaptive poll intervals: spend the API budget where changes happen (pure).

Per (app, resource): a poll that found changes halves the interval (down to `minimum`), one
that found nothing doubles it (up to `maximum`); scans of resources without `since` move
between their own, longer bounds. When the poll priority's share of the hour is running out,
every interval is stretched by `0.5 / share left` (so at 25 % left, twice as long), which
pushes the next polls past the top of the hour instead of spending the last calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["IntervalPolicy", "next_interval", "stretch"]


@dataclass(frozen=True, slots=True, kw_only=True)
class IntervalPolicy:
    minimum: int = 30
    maximum: int = 3600
    initial: int = 120
    scan_minimum: int = 900
    scan_maximum: int = 6 * 3600
    reconcile_every: int = 24 * 3600
    """A full id pass of each `since` resource whose deletions send no webhook, this often."""
    reconcile_covered_every: int = 7 * 24 * 3600
    """...and of those with delete webhooks: DrChrono gives up on a webhook after 3 retries, so
    a lost DELETE is found within this time (0: never)."""
    retry_after_failure: int = 300
    refused: int = 24 * 3600
    """A resource DrChrono refuses (no scope or permission) is asked again this much later."""
    low_budget_share: float = 0.5

    def reconcile_seconds(self, *, delete_webhook: bool) -> int:
        """Between two reconciliations of a `since` resource (0: never)."""
        return self.reconcile_covered_every if delete_webhook else self.reconcile_every

    def bounds(self, *, scan: bool) -> tuple[int, int]:
        return (self.scan_minimum, self.scan_maximum) if scan else (self.minimum, self.maximum)


def next_interval(
    current: int,
    *,
    changed: bool,
    scan: bool,
    budget_share_left: float = 1.0,
    policy: IntervalPolicy,
) -> int:
    """The next interval after a poll: shrink on change, grow on silence, stretch on a thin
    budget. Always within the bounds times the stretch."""
    low, high = policy.bounds(scan=scan)
    base = current // 2 if changed else current * 2
    bounded = min(high, max(low, base))
    return int(bounded * stretch(budget_share_left, policy=policy))


def stretch(share_left: float, *, policy: IntervalPolicy) -> float:
    """How much longer to wait when little of the poll budget is left (1.0: not at all)."""
    share = max(0.05, min(1.0, share_left))
    return 1.0 if share >= policy.low_budget_share else policy.low_budget_share / share


def due_after(now: datetime, seconds: int) -> datetime:
    return now + timedelta(seconds=seconds)
