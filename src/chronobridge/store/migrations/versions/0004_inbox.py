"""The webhook inbox: one row per signed delivery, its raw body encrypted.

Revision ID: 0004_inbox
Revises: 0001_hub_foundation
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_inbox"
down_revision: str | Sequence[str] | None = "0001_hub_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)
STATUSES = "'received', 'processing', 'done', 'failed', 'ignored', 'duplicate'"


def _counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer, nullable=False, server_default=sa.text("0"))


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.Column("delivery_id", sa.String(128), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("received_at", Stamp, nullable=False),
        sa.Column("verified", sa.Boolean, nullable=False),
        sa.Column("signature_mode", sa.String(10), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("payload_bytes", sa.Integer, nullable=False),
        sa.Column("object_id", sa.String(64), nullable=True),
        sa.Column("resource", sa.String(64), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        _counter("attempts"),
        _counter("repeats"),
        sa.Column("processed_at", Stamp, nullable=True),
        sa.Column("latency_ms", sa.Float, nullable=True),
        sa.Column("changes", sa.Integer, nullable=True),
        sa.Column("error_class", sa.String(100), nullable=True),
        sa.Column("workflow_id", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_webhook_deliveries_app_id_apps", ondelete="CASCADE"
        ),
        sa.UniqueConstraint(
            "app_id", "delivery_id", name="uq_webhook_deliveries_app_id_delivery_id"
        ),
        sa.CheckConstraint(f"status IN ({STATUSES})", name="ck_webhook_deliveries_status"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_webhook_deliveries_status_id", "webhook_deliveries", ["status", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_status_id", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
