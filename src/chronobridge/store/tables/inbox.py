"""The webhook inbox (issue 5): every delivery DrChrono signed, stored before it is acknowledged.

One row per (application, `X-drchrono-delivery`): a redelivery of the same id finds the row and
only counts itself in `repeats`. The raw body is kept byte for byte, encrypted (it is the REST
serialization of a record, so it holds patient data), bound to its row by the context label
`webhook_deliveries.payload:<app id>:<delivery id>`. Plaintext columns hold the event name,
DrChrono ids, timestamps, counts and an error class: never a field of the record.

Forged or malformed requests never get a row there (they are counted in a metric, without
body). `webhook_refusals` keeps a bounded trace of them for whoever debugs "my webhooks fail":
per minute, application (when the URL named a known one), reason code and event name (when it
is one DrChrono sends), how many requests were refused. Never a body, a signature, a secret or
a delivery id: nothing the sender controls beyond a known name.
"""

from __future__ import annotations

import sqlalchemy as sa

from chronobridge.store.tables._base import UtcDateTime, encrypted_column, metadata

__all__ = ["DELIVERY_STATUSES", "webhook_deliveries", "webhook_refusals"]

# SQLite needs exactly INTEGER for an auto-numbered primary key; PostgreSQL gets BIGINT.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

DELIVERY_STATUSES = ("received", "processing", "done", "failed", "ignored", "duplicate")
"""received: stored, job enqueued; processing: a worker is on it; done: applied (one or more
change events); duplicate: applied, but the change was already known (a poll or another
delivery saw it first); ignored: an event this hub does not know (no job); failed: the job gave
up after its attempts (error_class says why)."""

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("app_id", sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("delivery_id", sa.String(128), nullable=False),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("verified", sa.Boolean, nullable=False),
    sa.Column("signature_mode", sa.String(10), nullable=False),
    encrypted_column("payload"),
    sa.Column("payload_bytes", sa.Integer, nullable=False),
    sa.Column("object_id", sa.String(64), nullable=True),
    sa.Column("resource", sa.String(64), nullable=True),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("repeats", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("processed_at", UtcDateTime, nullable=True),
    sa.Column("latency_ms", sa.Float, nullable=True),
    sa.Column("changes", sa.Integer, nullable=True),
    sa.Column("error_class", sa.String(100), nullable=True),
    sa.Column("workflow_id", sa.String(200), nullable=True),
    sa.UniqueConstraint("app_id", "delivery_id"),
    sa.CheckConstraint(
        "status IN ('received', 'processing', 'done', 'failed', 'ignored', 'duplicate')",
        name="status",
    ),
    sa.Index("ix_webhook_deliveries_status_id", "status", "id"),
    sqlite_autoincrement=True,
)

webhook_refusals = sa.Table(
    "webhook_refusals",
    metadata,
    sa.Column("id", BigId, primary_key=True),
    sa.Column("minute", UtcDateTime, nullable=False),
    sa.Column("app_id", sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=True),
    sa.Column("reason", sa.String(40), nullable=False),
    sa.Column("event", sa.String(64), nullable=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Index("ix_webhook_refusals_minute", "minute"),
    sqlite_autoincrement=True,
)
