"""Refused webhook requests, counted per minute, application, reason and event (no content).

Revision ID: 0006_webhook_refusals
Revises: 0004_inbox
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_webhook_refusals"
down_revision: str | Sequence[str] | None = "0004_inbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_refusals",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("app_id", sa.Integer, nullable=True),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("event", sa.String(64), nullable=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_refusals"),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_webhook_refusals_app_id_apps", ondelete="CASCADE"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_webhook_refusals_minute", "webhook_refusals", ["minute"])


def downgrade() -> None:
    op.drop_index("ix_webhook_refusals_minute", table_name="webhook_refusals")
    op.drop_table("webhook_refusals")
