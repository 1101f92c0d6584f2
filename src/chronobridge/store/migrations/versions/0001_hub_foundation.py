"""The hub's foundation: apps, connections, tokens, OAuth states, budget, API log, audit log.

Revision ID: 0001_hub_foundation
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_hub_foundation"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)
GENESIS = "0" * 64


def _counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer, nullable=False, server_default=sa.text("0"))


def upgrade() -> None:
    _apps_and_connections()
    _tokens_and_states()
    _budget_and_logs()
    _audit()


def _apps_and_connections() -> None:
    op.create_table(
        "apps",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("client_id", sa.String(200), nullable=False),
        sa.Column("client_secret", sa.Text, nullable=False),
        sa.Column("redirect_uris", sa.JSON, nullable=False),
        sa.Column("api_version", sa.String(20), nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("webhook_secret", sa.Text, nullable=True),
        sa.Column("patient_iframe_url", sa.Text, nullable=True),
        sa.Column("patient_iframe_height", sa.Integer, nullable=True),
        sa.Column("clinical_note_iframe_url", sa.Text, nullable=True),
        sa.Column("clinical_note_iframe_height", sa.Integer, nullable=True),
        sa.Column("drchrono_url", sa.String(300), nullable=False),
        sa.Column("rate_limit", sa.Integer, nullable=False, server_default=sa.text("500")),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_apps"),
        sa.UniqueConstraint("client_id", name="uq_apps_client_id"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "connections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.Column("drchrono_user_id", sa.BigInteger, nullable=False),
        sa.Column("username", sa.String(200), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("doctor_id", sa.BigInteger, nullable=False),
        sa.Column("practice_group", sa.BigInteger, nullable=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.Column("last_used_at", Stamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_connections"),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_connections_app_id_apps", ondelete="CASCADE"
        ),
        sa.UniqueConstraint(
            "app_id", "drchrono_user_id", name="uq_connections_app_id_drchrono_user_id"
        ),
        sa.CheckConstraint("role IN ('doctor', 'staff')", name="ck_connections_role"),
        sa.CheckConstraint(
            "status IN ('active', 'needs_reconnect', 'deauthorized')", name="ck_connections_status"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_connections_app_id_doctor_id", "connections", ["app_id", "doctor_id"])


def _tokens_and_states() -> None:
    op.create_table(
        "tokens",
        sa.Column("connection_id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("access_token", sa.Text, nullable=False),
        sa.Column("refresh_token", sa.Text, nullable=False),
        sa.Column("expires_at", Stamp, nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("connection_id", name="pk_tokens"),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name="fk_tokens_connection_id_connections",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "oauth_states",
        sa.Column("state_hash", sa.String(64), nullable=False),
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.Column("code_verifier", sa.Text, nullable=False),
        sa.Column("redirect_uri", sa.Text, nullable=False),
        sa.Column("session_hash", sa.String(64), nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("used_at", Stamp, nullable=True),
        sa.PrimaryKeyConstraint("state_hash", name="pk_oauth_states"),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_oauth_states_app_id_apps", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_oauth_states_created_at", "oauth_states", ["created_at"])


def _budget_and_logs() -> None:
    op.create_table(
        "budget_windows",
        sa.Column("app_id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("window_start", Stamp, nullable=False),
        _counter("used"),
        _counter("used_interactive"),
        _counter("used_webhook"),
        _counter("used_poll"),
        _counter("used_backfill"),
        sa.Column("parked_until", Stamp, nullable=True),
        sa.PrimaryKeyConstraint("app_id", "window_start", name="pk_budget_windows"),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_budget_windows_app_id_apps", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "api_calls",
        sa.Column("id", BigId, primary_key=True),
        sa.Column("at", Stamp, nullable=False),
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.Column("connection_id", sa.Integer, nullable=True),
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
        sa.PrimaryKeyConstraint("id", name="pk_api_calls"),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_api_calls_app_id_apps", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name="fk_api_calls_connection_id_connections",
            ondelete="SET NULL",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_api_calls_at", "api_calls", ["at"])
    op.create_index("ix_api_calls_app_id_at", "api_calls", ["app_id", "at"])


def _audit() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("at", Stamp, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("target_type", sa.String(100), nullable=False),
        sa.Column("target_id", sa.String(200), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
    )
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
        sa.CheckConstraint("id = 1", name="ck_audit_head_single_row"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS}])
    _append_only_triggers()


def _append_only_triggers() -> None:
    """The audit log refuses UPDATE and DELETE; only a superuser who drops the triggers can."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
    )


def downgrade() -> None:
    op.drop_table("audit_log")  # its triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_log_append_only()")
    for table in ("audit_head", "api_calls", "budget_windows", "oauth_states", "tokens"):
        op.drop_table(table)
    op.drop_table("connections")
    op.drop_table("apps")
