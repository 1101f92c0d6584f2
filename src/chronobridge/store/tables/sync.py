"""The sync store (issue 4): raw records, the practice model, cursors, runs, staged pages, the
change-event outbox and the mapping error queue.

No patient data in any plaintext column: a record's JSON and a mapped row's values are
encrypted (`encrypted_column`), bound by their context label to the row's (app, resource or
model, external id). Plaintext columns hold DrChrono ids, timestamps, counts and digests only.
"""

from __future__ import annotations

import sqlalchemy as sa

from chronobridge.store.tables._base import UtcDateTime, encrypted_column, metadata

__all__ = [
    "change_events",
    "cursors",
    "model_rows",
    "records",
    "staged_pages",
    "sync_errors",
    "sync_runs",
]

# SQLite needs exactly INTEGER for an auto-numbered primary key; PostgreSQL gets BIGINT.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ExternalId = sa.String(64)
Name = sa.String(64)


def _app() -> sa.Column[int]:
    return sa.Column("app_id", sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False)


def _connection(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.ForeignKey("connections.id", ondelete="SET NULL"), nullable=True)


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer, nullable=False, server_default=sa.text("0"))


records = sa.Table(
    "records",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    _app(),
    sa.Column("resource", Name, nullable=False),
    sa.Column("external_id", ExternalId, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=True),
    sa.Column("digest", sa.String(64), nullable=False),
    encrypted_column("payload"),
    sa.Column("deleted_at", UtcDateTime, nullable=True),
    sa.Column("first_seen_at", UtcDateTime, nullable=False),
    sa.Column("last_seen_at", UtcDateTime, nullable=False),
    _connection("fetched_by"),
    sa.UniqueConstraint("app_id", "resource", "external_id"),
)

model_rows = sa.Table(
    "model_rows",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    _app(),
    sa.Column("model", Name, nullable=False),
    sa.Column("external_id", ExternalId, nullable=False),
    sa.Column("resource", Name, nullable=False),
    sa.Column("record_id", sa.ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    encrypted_column("data"),
    sa.Column("mapping_version", sa.Integer, nullable=False),
    sa.Column("mapping_digest", sa.String(32), nullable=False),
    sa.Column("provider_external_id", ExternalId, nullable=True),
    sa.Column("patient_external_id", ExternalId, nullable=True),
    sa.Column("location_external_id", ExternalId, nullable=True),
    sa.Column("updated_at", UtcDateTime, nullable=True),
    sa.Column("deleted_at", UtcDateTime, nullable=True),
    sa.UniqueConstraint("app_id", "model", "external_id"),
    sa.Index("ix_model_rows_record_id", "record_id"),
    sa.Index("ix_model_rows_app_id_patient", "app_id", "patient_external_id"),
)

cursors = sa.Table(
    "cursors",
    metadata,
    sa.Column(
        "app_id",
        sa.ForeignKey("apps.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("resource", Name, primary_key=True),
    sa.Column("state", sa.JSON, nullable=False),
    sa.Column("resume", sa.Text, nullable=True),
    sa.Column("batch", sa.JSON, nullable=True),
    sa.Column("mode", sa.String(20), nullable=False),
    sa.Column("interval_seconds", sa.Integer, nullable=False),
    sa.Column("next_due_at", UtcDateTime, nullable=True),
    sa.Column("last_change_at", UtcDateTime, nullable=True),
    _count("empty_polls"),
    sa.Column("reconciled_at", UtcDateTime, nullable=True),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

sync_runs = sa.Table(
    "sync_runs",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    _app(),
    _connection("connection_id"),
    sa.Column("resource", Name, nullable=False),
    sa.Column("mode", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime, nullable=True),
    _count("pages"),
    _count("records"),
    _count("created"),
    _count("updated"),
    _count("unchanged"),
    _count("deleted"),
    _count("failed"),
    _count("calls"),
    sa.Column("error_class", sa.String(100), nullable=True),
    sa.Column("workflow_id", sa.String(200), nullable=True),
    sa.CheckConstraint("mode IN ('backfill', 'incremental', 'scan', 'reconcile')", name="mode"),
    sa.CheckConstraint("status IN ('running', 'done', 'failed', 'stopped')", name="status"),
    sa.Index("ix_sync_runs_app_id_resource_status", "app_id", "resource", "status"),
    sqlite_autoincrement=True,
)

staged_pages = sa.Table(
    "staged_pages",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("run_id", sa.ForeignKey("sync_runs.id", ondelete="CASCADE"), nullable=False),
    _app(),
    sa.Column("resource", Name, nullable=False),
    sa.Column("page_no", sa.Integer, nullable=False),
    sa.Column("resume_after", sa.Text, nullable=True),
    encrypted_column("payload"),
    sa.Column("fetched_at", UtcDateTime, nullable=False),
    sa.Column("processed_at", UtcDateTime, nullable=True),
    sa.UniqueConstraint("run_id", "page_no"),
    sa.Index("ix_staged_pages_processed_at", "processed_at"),
)

change_events = sa.Table(
    "change_events",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    _app(),
    sa.Column("dedupe_key", sa.String(64), nullable=False, unique=True),
    sa.Column("resource", Name, nullable=False),
    sa.Column("external_id", ExternalId, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("source", sa.String(20), nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=True),
    sa.Column("detected_at", UtcDateTime, nullable=False),
    _connection("connection_id"),
    sa.Column("delivery_id", sa.String(100), nullable=True),
    sa.Index("ix_change_events_app_id_id", "app_id", "id"),
    sqlite_autoincrement=True,
)

sync_errors = sa.Table(
    "sync_errors",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    _app(),
    sa.Column("resource", Name, nullable=False),
    sa.Column("external_id", ExternalId, nullable=False),
    sa.Column("model", Name, nullable=False),
    sa.Column("field", sa.String(200), nullable=False),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("reason", sa.String(300), nullable=False),
    sa.Column("error_class", sa.String(100), nullable=False),
    sa.Column("mapping_version", sa.Integer, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("1")),
    sa.Column("first_seen_at", UtcDateTime, nullable=False),
    sa.Column("last_seen_at", UtcDateTime, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("resolved_at", UtcDateTime, nullable=True),
    sa.UniqueConstraint("app_id", "resource", "external_id", "model"),
    sa.CheckConstraint("status IN ('open', 'resolved', 'ignored')", name="status"),
    sa.Index("ix_sync_errors_app_id_status", "app_id", "status"),
    sqlite_autoincrement=True,
)
