"""The engine's knobs, with the defaults the docs describe (docs/sync.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from chronobridge.domain.cursors import DEFAULT_POLICY, CursorPolicy
from chronobridge.sync._intervals import IntervalPolicy

__all__ = ["EngineOptions"]


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineOptions:
    use_batch: bool = True
    """Backfills (and reconciliation passes) of resources with a `*_list` batch endpoint use it:
    pages of 1,000 instead of 250, so a quarter of the calls (plus the batch's polls)."""
    page_size: int | None = None
    """List page size; None (or anything larger) is the largest the resource allows."""
    intervals: IntervalPolicy = field(default_factory=IntervalPolicy)
    cursor: CursorPolicy = DEFAULT_POLICY
    refresh_resources: tuple[str, ...] = ("allergies", "medications", "problems")
    """Resources without `since` refreshed per patient when a patient changes."""
    refresh_limit: int = 5
    """Patients refreshed that way per patients poll (each costs one call per resource)."""
    refresh_min_share: float = 0.5
    """...and only while at least this share of the poll budget is left in the hour."""
    staged_retention: timedelta = timedelta(0)
    """Processed staged pages are deleted when their run ends, and any older than this at the
    start of a run (left by a crash between the end of a run and its clean-up)."""
    max_deletion_fraction: float = 0.5
    min_deletion_count: int = 10
    """A pass that would delete more than this fraction of the stored records (and at least
    this many) is held: logged, not applied (a lost permission looks like mass deletion)."""
