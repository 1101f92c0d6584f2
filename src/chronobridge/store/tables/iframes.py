"""The hub's mirror of DrChrono's iframe registrations (issue 3).

DrChrono keeps one registration per application and provider (POST /api/iframe_integration with
the provider's token). A staff member's or the provider's deauthorization removes it on
DrChrono's side, so the hub removes its mirror in the same transaction as the connections.
"""

from __future__ import annotations

import sqlalchemy as sa

from chronobridge.store.tables._base import UtcDateTime, metadata

__all__ = ["iframe_registrations"]

iframe_registrations = sa.Table(
    "iframe_registrations",
    metadata,
    sa.Column(
        "app_id",
        sa.ForeignKey("apps.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("doctor_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("connection_id", sa.ForeignKey("connections.id", ondelete="SET NULL"), nullable=True),
    sa.Column("registered_at", UtcDateTime, nullable=False),
)
