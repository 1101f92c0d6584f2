"""The sync store (raw records, practice model, cursors, runs, staged pages, change events,
mapping errors) and the worker runtime's tables, which the workers created themselves before.

Revision ID: 0002_sync
Revises: 0001_hub_foundation
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_sync"
down_revision: str | Sequence[str] | None = "0001_hub_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)
Name = sa.String(64)


def _count(name: str, default: str = "0") -> sa.Column[int]:
    return sa.Column(name, sa.Integer, nullable=False, server_default=sa.text(default))


def _fk_app(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["app_id"], ["apps.id"], name=f"fk_{table}_app_id_apps", ondelete="CASCADE"
    )


def _fk_connection(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        ["connections.id"],
        name=f"fk_{table}_{column}_connections",
        ondelete="SET NULL",
    )


def upgrade() -> None:
    _worker_tables()
    _records()
    _cursors_and_runs()
    _events_and_errors()


def _worker_tables() -> None:
    op.create_table(
        "worker_heartbeats",
        sa.Column("executor_id", sa.String(128), nullable=False),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("app_version", sa.String(64), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("beat_at", sa.Float, nullable=False),
        sa.Column("stopped", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("executor_id", name="pk_worker_heartbeats"),
    )
    op.create_table(
        "worker_probe_attempts",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("probe_key", sa.String(128), nullable=False),
        sa.Column("executor_id", sa.String(128), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_worker_probe_attempts"),
    )
    op.create_index("ix_worker_probe_attempts_probe_key", "worker_probe_attempts", ["probe_key"])
    op.create_table(
        "worker_probe_marks",
        sa.Column("probe_key", sa.String(128), nullable=False),
        sa.Column("executor_id", sa.String(128), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("probe_key", name="pk_worker_probe_marks"),
    )


def _records() -> None:
    op.create_table(
        "records",
        sa.Column("id", BigId, nullable=False),
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.Column("resource", Name, nullable=False),
        sa.Column("external_id", Name, nullable=False),
        sa.Column("updated_at", Stamp, nullable=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("deleted_at", Stamp, nullable=True),
        sa.Column("first_seen_at", Stamp, nullable=False),
        sa.Column("last_seen_at", Stamp, nullable=False),
        sa.Column("fetched_by", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_records"),
        _fk_app("records"),
        _fk_connection("records", "fetched_by"),
        sa.UniqueConstraint(
            "app_id", "resource", "external_id", name="uq_records_app_id_resource_external_id"
        ),
    )
    op.create_table(
        "model_rows",
        sa.Column("id", BigId, nullable=False),
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.Column("model", Name, nullable=False),
        sa.Column("external_id", Name, nullable=False),
        sa.Column("resource", Name, nullable=False),
        sa.Column("record_id", BigId, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("mapping_version", sa.Integer, nullable=False),
        sa.Column("mapping_digest", sa.String(32), nullable=False),
        sa.Column("provider_external_id", Name, nullable=True),
        sa.Column("patient_external_id", Name, nullable=True),
        sa.Column("location_external_id", Name, nullable=True),
        sa.Column("updated_at", Stamp, nullable=True),
        sa.Column("deleted_at", Stamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_model_rows"),
        _fk_app("model_rows"),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["records.id"],
            name="fk_model_rows_record_id_records",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "app_id", "model", "external_id", name="uq_model_rows_app_id_model_external_id"
        ),
    )
    op.create_index("ix_model_rows_record_id", "model_rows", ["record_id"])
    op.create_index("ix_model_rows_app_id_patient", "model_rows", ["app_id", "patient_external_id"])


def _cursors_and_runs() -> None:
    op.create_table(
        "cursors",
        sa.Column("app_id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("resource", Name, nullable=False),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("resume", sa.Text, nullable=True),
        sa.Column("batch", sa.JSON, nullable=True),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("interval_seconds", sa.Integer, nullable=False),
        sa.Column("next_due_at", Stamp, nullable=True),
        sa.Column("last_change_at", Stamp, nullable=True),
        _count("empty_polls"),
        sa.Column("reconciled_at", Stamp, nullable=True),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("app_id", "resource", name="pk_cursors"),
        _fk_app("cursors"),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", BigId, nullable=False),
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.Column("connection_id", sa.Integer, nullable=True),
        sa.Column("resource", Name, nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", Stamp, nullable=False),
        sa.Column("finished_at", Stamp, nullable=True),
        *(
            _count(name)
            for name in (
                "pages",
                "records",
                "created",
                "updated",
                "unchanged",
                "deleted",
                "failed",
                "calls",
            )
        ),
        sa.Column("error_class", sa.String(100), nullable=True),
        sa.Column("workflow_id", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sync_runs"),
        _fk_app("sync_runs"),
        _fk_connection("sync_runs", "connection_id"),
        sa.CheckConstraint(
            "mode IN ('backfill', 'incremental', 'scan', 'reconcile')", name="ck_sync_runs_mode"
        ),
        sa.CheckConstraint(
            "status IN ('running', 'done', 'failed', 'stopped')", name="ck_sync_runs_status"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_sync_runs_app_id_resource_status", "sync_runs", ["app_id", "resource", "status"]
    )
    op.create_table(
        "staged_pages",
        sa.Column("id", BigId, nullable=False),
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.Column("resource", Name, nullable=False),
        sa.Column("page_no", sa.Integer, nullable=False),
        sa.Column("resume_after", sa.Text, nullable=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("fetched_at", Stamp, nullable=False),
        sa.Column("processed_at", Stamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_staged_pages"),
        _fk_app("staged_pages"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["sync_runs.id"],
            name="fk_staged_pages_run_id_sync_runs",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("run_id", "page_no", name="uq_staged_pages_run_id_page_no"),
    )
    op.create_index("ix_staged_pages_processed_at", "staged_pages", ["processed_at"])


def _events_and_errors() -> None:
    op.create_table(
        "change_events",
        sa.Column("id", BigId, nullable=False),
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.Column("dedupe_key", sa.String(64), nullable=False),
        sa.Column("resource", Name, nullable=False),
        sa.Column("external_id", Name, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("updated_at", Stamp, nullable=True),
        sa.Column("detected_at", Stamp, nullable=False),
        sa.Column("connection_id", sa.Integer, nullable=True),
        sa.Column("delivery_id", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_change_events"),
        _fk_app("change_events"),
        _fk_connection("change_events", "connection_id"),
        sa.UniqueConstraint("dedupe_key", name="uq_change_events_dedupe_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_change_events_app_id_id", "change_events", ["app_id", "id"])
    op.create_table(
        "sync_errors",
        sa.Column("id", BigId, nullable=False),
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.Column("resource", Name, nullable=False),
        sa.Column("external_id", Name, nullable=False),
        sa.Column("model", Name, nullable=False),
        sa.Column("field", sa.String(200), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("error_class", sa.String(100), nullable=False),
        sa.Column("mapping_version", sa.Integer, nullable=False),
        _count("attempts", "1"),
        sa.Column("first_seen_at", Stamp, nullable=False),
        sa.Column("last_seen_at", Stamp, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("resolved_at", Stamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sync_errors"),
        _fk_app("sync_errors"),
        sa.UniqueConstraint(
            "app_id",
            "resource",
            "external_id",
            "model",
            name="uq_sync_errors_app_id_resource_external_id_model",
        ),
        sa.CheckConstraint(
            "status IN ('open', 'resolved', 'ignored')", name="ck_sync_errors_status"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sync_errors_app_id_status", "sync_errors", ["app_id", "status"])


def downgrade() -> None:
    for table in (
        "sync_errors",
        "change_events",
        "staged_pages",
        "sync_runs",
        "cursors",
        "model_rows",
        "records",
        "worker_probe_marks",
        "worker_probe_attempts",
        "worker_heartbeats",
    ):
        op.drop_table(table)
