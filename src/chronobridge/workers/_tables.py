"""The worker runtime's own tables (in the application's schema, next to the store's).

`worker_heartbeats`: one row per executor, refreshed by its liveness thread; the orphan
sweeper reads it. `worker_probe_attempts` / `worker_probe_marks`: written by the diagnostic
probe workflow (one attempt row per execution of its step, one mark per finished probe).

Until the store's Alembic migrations take these over they are created here, at worker start,
under a lock so that workers starting together do not race on CREATE TABLE.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex, CreateTable

metadata = sa.MetaData()

heartbeats = sa.Table(
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

probe_attempts = sa.Table(
    "worker_probe_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("probe_key", sa.String(128), nullable=False, index=True),
    sa.Column("executor_id", sa.String(128), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)

probe_marks = sa.Table(
    "worker_probe_marks",
    metadata,
    sa.Column("probe_key", sa.String(128), primary_key=True),
    sa.Column("executor_id", sa.String(128), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)

_PG_LOCK_KEY = 0x63627772  # "cbwr": serialises CREATE TABLE between workers starting together


def db_epoch(dialect_name: str) -> sa.ColumnElement[float]:
    """The database's clock in Unix seconds: every worker compares times on one clock."""
    if dialect_name == "sqlite":
        return sa.cast((sa.func.julianday(sa.literal("now")) - 2440587.5) * 86400.0, sa.Float)
    return sa.cast(sa.func.extract("epoch", sa.func.clock_timestamp()), sa.Float)


def create_tables(engine: sa.Engine) -> None:
    """CREATE … IF NOT EXISTS; on PostgreSQL under an advisory lock, because concurrent
    CREATE TABLE IF NOT EXISTS can still collide there (on pg_type)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
        for table in metadata.sorted_tables:
            conn.execute(CreateTable(table, if_not_exists=True))
            for index in table.indexes:
                conn.execute(CreateIndex(index, if_not_exists=True))
