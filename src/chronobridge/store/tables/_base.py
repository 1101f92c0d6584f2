"""What every table of the hub shares: one MetaData, UTC timestamps, encrypted columns.

Constraint names follow a fixed convention so that Alembic's batch mode can drop and recreate
them on SQLite. An encrypted column is a Text column marked `info={"encrypted": True}`: the key
rotation pass (store/_rotate.py) re-encrypts every column so marked, in every table on `metadata`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

__all__ = ["ENCRYPTED", "UtcDateTime", "encrypted_column", "encrypted_columns", "metadata"]

ENCRYPTED = "encrypted"

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both databases (SQLite keeps naive UTC text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError("the database returned a timestamp that is not a datetime")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def encrypted_column(name: str, *, nullable: bool = False) -> sa.Column[str]:
    """A column holding a KeyRing ciphertext (never plaintext)."""
    return sa.Column(name, sa.Text, nullable=nullable, info={ENCRYPTED: True})


def encrypted_columns(table: sa.Table) -> list[sa.Column[Any]]:
    return [column for column in table.columns if column.info.get(ENCRYPTED)]
