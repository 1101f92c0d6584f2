"""Patient matching and write-back: the blind-index key, the match index, the review queue, the
create locks and the write-back outbox.

Revision ID: 0003_writeback
Revises: 0002_sync
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_writeback"
down_revision: str | Sequence[str] | None = "0002_sync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)
ExternalId = sa.String(64)
Digest = sa.String(64)


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer, nullable=False, server_default=sa.text("0"))


def _flag(name: str) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean, nullable=False, server_default=sa.false())


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=f"fk_{table}_{column}_{referred}", ondelete=ondelete
    )


def upgrade() -> None:
    _secrets_and_keys()
    _writebacks()
    _reviews_and_locks()


def _secrets_and_keys() -> None:
    op.create_table(
        "hub_secrets",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_hub_secrets"),
    )
    op.create_table(
        "match_keys",
        sa.Column("model_row_id", BigId, nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("key", Digest, nullable=False),
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("model_row_id", "rule", "key", name="pk_match_keys"),
        _fk("match_keys", "model_row_id", "model_rows.id", "CASCADE"),
        _fk("match_keys", "app_id", "apps.id", "CASCADE"),
    )
    op.create_index("ix_match_keys_app_id_rule_key", "match_keys", ["app_id", "rule", "key"])


def _writebacks() -> None:
    op.create_table(
        "writebacks",
        sa.Column("id", BigId, nullable=False),
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.Column("connection_id", sa.Integer, nullable=True),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("external_id", ExternalId, nullable=True),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("changed", sa.JSON, nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("idempotency_key", Digest, nullable=False),
        sa.Column("priority", sa.String(20), nullable=False),
        _flag("force"),
        sa.Column("drchrono_id", ExternalId, nullable=True),
        _flag("matched_existing"),
        sa.Column("error_fields", sa.JSON, nullable=True),
        sa.Column("error_class", sa.String(100), nullable=True),
        sa.Column("message", sa.String(500), nullable=True),
        _count("attempts"),
        _count("submissions"),
        sa.Column("lease_until", Stamp, nullable=True),
        sa.Column("workflow_id", sa.String(200), nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_writebacks"),
        _fk("writebacks", "app_id", "apps.id", "CASCADE"),
        _fk("writebacks", "connection_id", "connections.id", "SET NULL"),
        sa.UniqueConstraint("idempotency_key", name="uq_writebacks_idempotency_key"),
        sa.CheckConstraint("action IN ('create', 'update')", name="ck_writebacks_action"),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'done', 'rejected', 'conflict', 'review', 'failed')",
            name="ck_writebacks_status",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_writebacks_app_id_status", "writebacks", ["app_id", "status"])
    op.create_index(
        "ix_writebacks_app_id_model_external_id",
        "writebacks",
        ["app_id", "model", "external_id"],
    )


def _reviews_and_locks() -> None:
    op.create_table(
        "match_reviews",
        sa.Column("id", BigId, nullable=False),
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("fingerprint", Digest, nullable=False),
        sa.Column("model_row_id", BigId, nullable=True),
        sa.Column("candidate_id", ExternalId, nullable=True),
        sa.Column("payload", sa.Text, nullable=True),
        sa.Column("matched_ids", sa.JSON, nullable=False),
        sa.Column("rules", sa.JSON, nullable=False),
        sa.Column("strength", sa.String(10), nullable=False),
        sa.Column("writeback_id", BigId, nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("resolved_at", Stamp, nullable=True),
        sa.Column("resolved_by", sa.String(200), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_match_reviews"),
        _fk("match_reviews", "app_id", "apps.id", "CASCADE"),
        _fk("match_reviews", "model_row_id", "model_rows.id", "SET NULL"),
        _fk("match_reviews", "writeback_id", "writebacks.id", "SET NULL"),
        sa.UniqueConstraint("app_id", "fingerprint", name="uq_match_reviews_app_id_fingerprint"),
        sa.CheckConstraint(
            "kind IN ('duplicate_in_drchrono', 'inbound')", name="ck_match_reviews_kind"
        ),
        sa.CheckConstraint("strength IN ('exact', 'possible')", name="ck_match_reviews_strength"),
        sa.CheckConstraint(
            "status IN ('open', 'confirmed', 'dismissed', 'merged')",
            name="ck_match_reviews_status",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_match_reviews_app_id_status", "match_reviews", ["app_id", "status"])
    op.create_table(
        "pending_creates",
        sa.Column("id", BigId, nullable=False),
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.Column("identity_key", Digest, nullable=False),
        sa.Column("idempotency_key", Digest, nullable=False),
        sa.Column("writeback_id", BigId, nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("drchrono_id", ExternalId, nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pending_creates"),
        _fk("pending_creates", "app_id", "apps.id", "CASCADE"),
        _fk("pending_creates", "writeback_id", "writebacks.id", "SET NULL"),
        sa.UniqueConstraint(
            "app_id", "identity_key", name="uq_pending_creates_app_id_identity_key"
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'created', 'failed')", name="ck_pending_creates_status"
        ),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    for table in ("pending_creates", "match_reviews", "writebacks", "match_keys", "hub_secrets"):
        op.drop_table(table)
