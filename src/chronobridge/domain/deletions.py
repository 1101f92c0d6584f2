"""Deletion detection for resources whose deletions send no webhook (DP-3), pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["DeletionCheck", "detect_deletions"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeletionCheck:
    deleted: frozenset[str]
    """Stored ids that a complete reconciliation pass did not see: deleted in DrChrono."""
    held: bool = False
    """True when the pass would delete more than `max_fraction` of the stored records (and at
    least `min_count`): the caller alerts instead of deleting, because a lost permission or a
    filter gone wrong looks like mass deletion. Deleting anyway is `max_fraction=1.0`."""


def detect_deletions(
    *,
    stored: Iterable[str],
    seen: Iterable[str],
    complete: bool,
    max_fraction: float = 0.5,
    min_count: int = 10,
) -> DeletionCheck:
    """Ids deleted in DrChrono, for resources whose deletions send no event.

    `stored` must be the ids stored *before* the pass began (a record created during the pass
    may be missing from `seen`), and `seen` every id of a full, unfiltered pass; an incomplete
    pass proves nothing, so it deletes nothing.
    """
    if not complete:
        return DeletionCheck(deleted=frozenset())
    known = frozenset(stored)
    deleted = known - frozenset(seen)
    held = len(deleted) >= min_count and len(deleted) > max_fraction * len(known)
    return DeletionCheck(deleted=frozenset() if held else deleted, held=held)
