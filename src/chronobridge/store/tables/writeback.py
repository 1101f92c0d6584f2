"""Patient matching and write-back (issue 4 §5-6): the blind-index key, the match index, the
possible-match review queue, the create locks and the write-back outbox.

No patient data in any plaintext column. The match index holds HMAC-SHA256 keys (hex) under a
key of its own (`hub_secrets`, encrypted); reviews and the outbox keep values encrypted, bound
to their row by the context label. Plaintext columns hold DrChrono ids, field *names*, rule
names, statuses, counts and timestamps.
"""

from __future__ import annotations

import sqlalchemy as sa

from chronobridge.store.tables._base import UtcDateTime, encrypted_column, metadata

__all__ = ["hub_secrets", "match_keys", "match_reviews", "pending_creates", "writebacks"]

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ExternalId = sa.String(64)
Digest = sa.String(64)


def _app() -> sa.Column[int]:
    return sa.Column("app_id", sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False)


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer, nullable=False, server_default=sa.text("0"))


def _flag(name: str) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean, nullable=False, server_default=sa.false())


# Keys the hub makes for itself, created on first use (today: the blind-index key). Encrypted
# with the key ring, so key rotation re-encrypts them and their plaintext never changes.
hub_secrets = sa.Table(
    "hub_secrets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    encrypted_column("value"),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

# One row per (patient row, rule, key): `matching.match_keys` of the row's identity.
match_keys = sa.Table(
    "match_keys",
    metadata,
    sa.Column(
        "model_row_id",
        sa.ForeignKey("model_rows.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("rule", sa.String(32), primary_key=True),
    sa.Column("key", Digest, primary_key=True),
    _app(),
    sa.Index("ix_match_keys_app_id_rule_key", "app_id", "rule", "key"),
)

writebacks = sa.Table(
    "writebacks",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    _app(),
    sa.Column("connection_id", sa.ForeignKey("connections.id", ondelete="SET NULL"), nullable=True),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("external_id", ExternalId, nullable=True),
    sa.Column("action", sa.String(10), nullable=False),
    encrypted_column("payload"),
    sa.Column("changed", sa.JSON, nullable=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("idempotency_key", Digest, nullable=False, unique=True),
    sa.Column("priority", sa.String(20), nullable=False),
    _flag("force"),
    sa.Column("drchrono_id", ExternalId, nullable=True),
    _flag("matched_existing"),
    sa.Column("error_fields", sa.JSON, nullable=True),
    sa.Column("error_class", sa.String(100), nullable=True),
    sa.Column("message", sa.String(500), nullable=True),
    _count("attempts"),
    _count("submissions"),
    sa.Column("lease_until", UtcDateTime, nullable=True),
    sa.Column("workflow_id", sa.String(200), nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.CheckConstraint("action IN ('create', 'update')", name="action"),
    sa.CheckConstraint(
        "status IN ('queued', 'sending', 'done', 'rejected', 'conflict', 'review', 'failed')",
        name="status",
    ),
    sa.Index("ix_writebacks_app_id_status", "app_id", "status"),
    sa.Index("ix_writebacks_app_id_model_external_id", "app_id", "model", "external_id"),
    sqlite_autoincrement=True,
)

# The possible-match review queue.
match_reviews = sa.Table(
    "match_reviews",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    _app(),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("fingerprint", Digest, nullable=False),
    sa.Column("model_row_id", sa.ForeignKey("model_rows.id", ondelete="SET NULL"), nullable=True),
    sa.Column("candidate_id", ExternalId, nullable=True),
    encrypted_column("payload", nullable=True),
    sa.Column("matched_ids", sa.JSON, nullable=False),
    sa.Column("rules", sa.JSON, nullable=False),
    sa.Column("strength", sa.String(10), nullable=False),
    sa.Column("writeback_id", sa.ForeignKey("writebacks.id", ondelete="SET NULL"), nullable=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("resolved_at", UtcDateTime, nullable=True),
    sa.Column("resolved_by", sa.String(200), nullable=True),
    encrypted_column("note", nullable=True),
    sa.UniqueConstraint("app_id", "fingerprint"),
    sa.CheckConstraint("kind IN ('duplicate_in_drchrono', 'inbound')", name="kind"),
    sa.CheckConstraint("strength IN ('exact', 'possible')", name="strength"),
    sa.CheckConstraint("status IN ('open', 'confirmed', 'dismissed', 'merged')", name="status"),
    sa.Index("ix_match_reviews_app_id_status", "app_id", "status"),
    sqlite_autoincrement=True,
)

# The lock that makes racing creates of one patient safe: one row per (app, identity), the
# identity being a blind index of the normalized first name, last name and birth date.
pending_creates = sa.Table(
    "pending_creates",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    _app(),
    sa.Column("identity_key", Digest, nullable=False),
    sa.Column("idempotency_key", Digest, nullable=False),
    sa.Column("writeback_id", sa.ForeignKey("writebacks.id", ondelete="SET NULL"), nullable=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("drchrono_id", ExternalId, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("app_id", "identity_key"),
    sa.CheckConstraint("status IN ('pending', 'created', 'failed')", name="status"),
    sqlite_autoincrement=True,
)
