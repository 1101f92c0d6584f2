"""The worker runtime's own tables (chronobridge.workers), migrated with the rest of the store.

`worker_heartbeats`: one row per executor, refreshed by its liveness thread; the orphan sweeper
reads it. Times are Unix seconds on the database's clock (`workers._tables.db_epoch`), so every
worker compares times on one clock. `worker_probe_attempts` / `worker_probe_marks`: written by
the diagnostic probe workflow (one attempt row per execution of its step, one mark per
finished probe). No patient data.
"""

from __future__ import annotations

import sqlalchemy as sa

from chronobridge.store.tables._base import metadata

__all__ = ["worker_heartbeats", "worker_probe_attempts", "worker_probe_marks"]

worker_heartbeats = sa.Table(
    "worker_heartbeats",
    metadata,
    sa.Column("executor_id", sa.String(128), primary_key=True),
    sa.Column("hostname", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("app_version", sa.String(64), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("beat_at", sa.Float, nullable=False),
    sa.Column("stopped", sa.Boolean, nullable=False, default=False),
)

worker_probe_attempts = sa.Table(
    "worker_probe_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("probe_key", sa.String(128), nullable=False, index=True),
    sa.Column("executor_id", sa.String(128), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)

worker_probe_marks = sa.Table(
    "worker_probe_marks",
    metadata,
    sa.Column("probe_key", sa.String(128), primary_key=True),
    sa.Column("executor_id", sa.String(128), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)
