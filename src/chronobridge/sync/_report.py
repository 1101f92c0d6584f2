"""What a sync run reports: as it goes (`Progress`, for progress bars) and when it ends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = ["Progress", "ProgressCallback", "RunStatus", "SyncReport"]


class RunStatus(StrEnum):
    DONE = "done"
    PAUSED = "paused"
    """The budget ran out (or DrChrono parked us): the run resumes at `resume_at`."""
    FAILED = "failed"
    """An error stopped it; the cursor keeps its place and the next run resumes there."""
    STOPPED = "stopped"
    """The connection cannot be used (needs reconnecting, deauthorized) or access is refused."""
    BUSY = "busy"
    """Another sync of the same (app, resource) is running."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    """After each page: ids and counts only."""

    app_id: int
    resource: str
    mode: str
    pages: int
    records: int
    calls: int
    total_pages: int | None = None
    budget_left: int | None = None
    """Calls this run's priority may still spend in the current hour, when known."""


ProgressCallback = Callable[[Progress], Awaitable[None] | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncReport:
    app_id: int
    resource: str
    mode: str
    status: RunStatus
    run_id: int | None = None
    pages: int = 0
    records: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    """Records that did not fit the mapping (stored raw; see `chronobridge errors list`)."""
    calls: int = 0
    refreshed: int = 0
    """Records of dependent resources refreshed for the patients this run saw change."""
    deletions_held: int = 0
    """Deletions not applied because they looked like a mass deletion (see the logs)."""
    error_class: str | None = None
    resume_at: datetime | None = None
    changed_ids: tuple[str, ...] = field(default=(), repr=False)
    """The first 1,000 ids created or updated (ids only: no patient data)."""

    @property
    def changes(self) -> int:
        return self.created + self.updated + self.deleted

    def counts(self) -> dict[str, int | str | None]:
        """A small JSON-ready summary (workflow results, CLI output): no patient data."""
        return {
            "resource": self.resource,
            "mode": self.mode,
            "status": self.status.value,
            "pages": self.pages,
            "records": self.records,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "failed": self.failed,
            "calls": self.calls,
            "error_class": self.error_class,
        }
