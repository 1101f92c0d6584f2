"""Incremental sync of DrChrono into the practice store (see docs/sync.md).

`ingest` is the one write path for fetched records (polls, backfills, webhook fetches, error
retries); `mark_deleted` records deletions. The engine, the planner and the durable workflows
build on them.
"""

from __future__ import annotations

from chronobridge.sync._delete import DeleteReport, mark_deleted
from chronobridge.sync._ingest import IngestHook, IngestReport, StoredModelRow, ingest

__all__ = [
    "DeleteReport",
    "IngestHook",
    "IngestReport",
    "StoredModelRow",
    "ingest",
    "mark_deleted",
]
