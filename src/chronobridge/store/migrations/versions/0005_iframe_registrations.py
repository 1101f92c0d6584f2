"""The hub's mirror of DrChrono's iframe registrations (one per application and provider).

Revision ID: 0005_iframe_registrations
Revises: 0001_hub_foundation
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_iframe_registrations"
down_revision: str | Sequence[str] | None = "0001_hub_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "iframe_registrations",
        sa.Column("app_id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("doctor_id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("connection_id", sa.Integer, nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "doctor_id", name="pk_iframe_registrations"),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_iframe_registrations_app_id_apps", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name="fk_iframe_registrations_connection_id_connections",
            ondelete="SET NULL",
        ),
    )


def downgrade() -> None:
    op.drop_table("iframe_registrations")
