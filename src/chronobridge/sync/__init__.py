"""Incremental sync of DrChrono into the practice store (see docs/sync.md).

- `ingest` is the one write path for fetched records (polls, backfills, webhook fetches, error
  retries); `mark_deleted` records deletions.
- `SyncEngine` runs syncs of one (app, resource) at a time: backfill (batch endpoints where
  they exist), incremental `since` polls with boundary de-duplication and a signpost, full scans
  of lists without `since`, reconciliation passes that find deletions; `plan_due` says what the
  planner should start now (adaptive intervals).
- `chronobridge.sync.workflows` holds the durable DBOS jobs and the planner schedule.
"""

from __future__ import annotations

from chronobridge.sync._clients import (
    CallCounter,
    ClientSource,
    ConnectionClients,
    Lease,
    StaticClients,
)
from chronobridge.sync._context_jobs import EngineFactory, engine_from_settings
from chronobridge.sync._context_jobs import install as install_engine
from chronobridge.sync._delete import DeleteReport, mark_deleted
from chronobridge.sync._engine import SyncEngine
from chronobridge.sync._ingest import IngestHook, IngestReport, StoredModelRow, ingest
from chronobridge.sync._intervals import IntervalPolicy, next_interval
from chronobridge.sync._options import EngineOptions
from chronobridge.sync._plan import FIRST, ResourcePlan, Strategy, plan_for, syncable
from chronobridge.sync._planner import Due
from chronobridge.sync._prepare import is_flagged_deleted
from chronobridge.sync._report import Progress, ProgressCallback, RunStatus, SyncReport
from chronobridge.sync._retry import RetryReport, retry_errors
from chronobridge.sync._state import RunMode

__all__ = [
    "FIRST",
    "CallCounter",
    "ClientSource",
    "ConnectionClients",
    "DeleteReport",
    "Due",
    "EngineFactory",
    "EngineOptions",
    "IngestHook",
    "IngestReport",
    "IntervalPolicy",
    "Lease",
    "Progress",
    "ProgressCallback",
    "ResourcePlan",
    "RetryReport",
    "RunMode",
    "RunStatus",
    "StaticClients",
    "StoredModelRow",
    "Strategy",
    "SyncEngine",
    "SyncReport",
    "engine_from_settings",
    "ingest",
    "install_engine",
    "is_flagged_deleted",
    "mark_deleted",
    "next_interval",
    "plan_for",
    "retry_errors",
    "syncable",
]
