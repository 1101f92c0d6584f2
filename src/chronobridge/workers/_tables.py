"""The worker runtime's own tables, which live in the store (`store/tables/workers.py`) and are
created by its Alembic migrations.

`worker_heartbeats`: one row per executor, refreshed by its liveness thread; the orphan
sweeper reads it. `worker_probe_attempts` / `worker_probe_marks`: written by the diagnostic
probe workflow (one attempt row per execution of its step, one mark per finished probe).
"""

from __future__ import annotations

import sqlalchemy as sa

from chronobridge.store import ensure_schema
from chronobridge.store.tables import worker_heartbeats as heartbeats
from chronobridge.store.tables import worker_probe_attempts as probe_attempts
from chronobridge.store.tables import worker_probe_marks as probe_marks

__all__ = ["create_tables", "db_epoch", "heartbeats", "probe_attempts", "probe_marks"]


def db_epoch(dialect_name: str) -> sa.ColumnElement[float]:
    """The database's clock in Unix seconds: every worker compares times on one clock."""
    if dialect_name == "sqlite":
        return sa.cast((sa.func.julianday(sa.literal("now")) - 2440587.5) * 86400.0, sa.Float)
    return sa.cast(sa.func.extract("epoch", sa.func.clock_timestamp()), sa.Float)


def create_tables(engine: sa.Engine) -> None:
    """Migrate the database `engine` points at to the store's newest schema (the worker tables
    and everything else): a worker started on a blank database finds every table it needs.
    Concurrent starts take turns (the store's migration locks)."""
    ensure_schema(engine.url)
