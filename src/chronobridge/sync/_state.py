"""A resource's sync state as the engine sees it, and as the cursors table stores it.

The row's `state` JSON is the domain cursor (`Cursor.to_json()`: bookmark, boundary tokens,
the incremental run in progress) plus two keys of the engine's own: `sync_run`, the id of the
sync run in progress (any mode), and `run_mode`, its mode. A run in progress is resumed before
anything else is started.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from chronobridge.domain.cursors import Cursor
from chronobridge.store import CursorRow

__all__ = ["RunMode", "SyncState"]


class RunMode(StrEnum):
    BACKFILL = "backfill"
    INCREMENTAL = "incremental"
    SCAN = "scan"
    RECONCILE = "reconcile"

    @property
    def moves_cursor(self) -> bool:
        """Backfills and incremental runs move the bookmark; full passes do not."""
        return self in (RunMode.BACKFILL, RunMode.INCREMENTAL)

    @property
    def detects_deletions(self) -> bool:
        """A complete pass (no `since`) proves which stored ids are gone."""
        return self in (RunMode.BACKFILL, RunMode.SCAN, RunMode.RECONCILE)


@dataclass(frozen=True, kw_only=True)
class SyncState:
    row: CursorRow
    cursor: Cursor
    run_id: int | None = None
    run_mode: RunMode | None = None

    @classmethod
    def load(cls, row: CursorRow | None, *, app_id: int, resource: str, interval: int) -> SyncState:
        if row is None:
            fresh = CursorRow(app_id=app_id, resource=resource, interval_seconds=interval)
            return cls(row=fresh, cursor=Cursor(resource=resource))
        state = dict(row.state)
        cursor = Cursor.from_json(state) if state.get("resource") else Cursor(resource=resource)
        run_id = state.get("sync_run")
        mode = state.get("run_mode")
        return cls(
            row=row,
            cursor=cursor,
            run_id=run_id if isinstance(run_id, int) else None,
            run_mode=RunMode(mode) if isinstance(mode, str) and mode else None,
        )

    @property
    def in_progress(self) -> bool:
        return self.run_id is not None and self.run_mode is not None

    def started(self, run_id: int, mode: RunMode, cursor: Cursor) -> SyncState:
        row = self.row.but(resume=None, batch=None, mode=mode.value)
        return replace(self, row=row, cursor=cursor, run_id=run_id, run_mode=mode)

    def but_cursor(self, cursor: Cursor, *, resume: str | None) -> SyncState:
        return replace(self, cursor=cursor, row=self.row.but(resume=resume))

    def ended(self, cursor: Cursor, **row_changes: Any) -> SyncState:
        row = self.row.but(resume=None, batch=None, **row_changes)
        return replace(self, row=row, cursor=cursor, run_id=None, run_mode=None)

    def to_row(self) -> CursorRow:
        state: dict[str, Any] = {**self.cursor.to_json(), "sync_run": self.run_id}
        state["run_mode"] = None if self.run_mode is None else self.run_mode.value
        return self.row.but(state=state)
