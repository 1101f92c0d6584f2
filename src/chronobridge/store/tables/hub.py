"""The hub's own tables (issue 3): apps, connections, tokens, OAuth states, the API budget,
the API call log and the audit log. No patient data lives in any of them.
"""

from __future__ import annotations

import sqlalchemy as sa

from chronobridge.store.tables._base import UtcDateTime, encrypted_column, metadata

__all__ = [
    "api_calls",
    "apps",
    "audit_head",
    "audit_log",
    "budget_windows",
    "connections",
    "oauth_states",
    "tokens",
]

# SQLite needs exactly INTEGER for an auto-numbered primary key; PostgreSQL gets BIGINT.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

apps = sa.Table(
    "apps",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("client_id", sa.String(200), nullable=False, unique=True),
    encrypted_column("client_secret"),
    sa.Column("redirect_uris", sa.JSON, nullable=False),
    sa.Column("api_version", sa.String(20), nullable=False),
    sa.Column("scopes", sa.Text, nullable=False),
    encrypted_column("webhook_secret", nullable=True),
    sa.Column("patient_iframe_url", sa.Text, nullable=True),
    sa.Column("patient_iframe_height", sa.Integer, nullable=True),
    sa.Column("clinical_note_iframe_url", sa.Text, nullable=True),
    sa.Column("clinical_note_iframe_height", sa.Integer, nullable=True),
    sa.Column("drchrono_url", sa.String(300), nullable=False),
    sa.Column("rate_limit", sa.Integer, nullable=False, server_default=sa.text("500")),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sqlite_autoincrement=True,
)

connections = sa.Table(
    "connections",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("app_id", sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("drchrono_user_id", sa.BigInteger, nullable=False),
    sa.Column("username", sa.String(200), nullable=False),
    sa.Column("role", sa.String(10), nullable=False),
    sa.Column("doctor_id", sa.BigInteger, nullable=False),
    sa.Column("practice_group", sa.BigInteger, nullable=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("scopes", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("last_used_at", UtcDateTime, nullable=True),
    sa.UniqueConstraint("app_id", "drchrono_user_id"),
    sa.CheckConstraint("role IN ('doctor', 'staff')", name="role"),
    sa.CheckConstraint("status IN ('active', 'needs_reconnect', 'deauthorized')", name="status"),
    sa.Index("ix_connections_app_id_doctor_id", "app_id", "doctor_id"),
    sqlite_autoincrement=True,
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column(
        "connection_id",
        sa.ForeignKey("connections.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    encrypted_column("access_token"),
    encrypted_column("refresh_token"),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

oauth_states = sa.Table(
    "oauth_states",
    metadata,
    sa.Column("state_hash", sa.String(64), primary_key=True),
    sa.Column("app_id", sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    encrypted_column("code_verifier"),
    sa.Column("redirect_uri", sa.Text, nullable=False),
    sa.Column("session_hash", sa.String(64), nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False, index=True),
    sa.Column("used_at", UtcDateTime, nullable=True),
)

budget_windows = sa.Table(
    "budget_windows",
    metadata,
    sa.Column(
        "app_id",
        sa.ForeignKey("apps.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("window_start", UtcDateTime, primary_key=True),
    sa.Column("used", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("used_interactive", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("used_webhook", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("used_poll", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("used_backfill", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("parked_until", UtcDateTime, nullable=True),
)

api_calls = sa.Table(
    "api_calls",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("at", UtcDateTime, nullable=False, index=True),
    sa.Column("app_id", sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("connection_id", sa.ForeignKey("connections.id", ondelete="SET NULL"), nullable=True),
    sa.Column("method", sa.String(10), nullable=False),
    sa.Column("path", sa.String(300), nullable=False),
    sa.Column("operation", sa.String(100), nullable=True),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("bytes_in", sa.Integer, nullable=False),
    sa.Column("bytes_out", sa.Integer, nullable=False),
    sa.Column("priority", sa.String(20), nullable=False),
    sa.Column("request_id", sa.String(100), nullable=True),
    sa.Column("error_class", sa.String(100), nullable=True),
    sa.Index("ix_api_calls_app_id_at", "app_id", "at"),
    sqlite_autoincrement=True,
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("target_type", sa.String(100), nullable=False),
    sa.Column("target_id", sa.String(200), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# One row: the last sequence number and hash. Appenders lock it, so the chain never forks,
# and a deleted tail of audit_log shows up as a head that points past the last row.
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.CheckConstraint("id = 1", name="single_row"),
)
