"""Key rotation: re-encrypt every encrypted column of every table under the newest key.

Generic over `metadata`: any column marked encrypted (tables.encrypted_column) is included, so
tables added later (webhook payloads, destination credentials) rotate without changes here.
Rows are locked while rewritten (FOR UPDATE / SQLite's write lock), so a token refresh running
at the same time is never overwritten with its older value. Batches commit one by one; running
the pass again is harmless. `chronobridge keys rotate` = KeyFile.add_new_key → reencrypt_all →
KeyFile.retire_old_keys (docs/store.md, "Key rotation").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.store._database import Database
from chronobridge.store.tables import encrypted_columns, metadata

__all__ = ["RotationReport", "reencrypt_all"]


@dataclass(frozen=True)
class RotationReport:
    values: dict[str, int] = field(default_factory=dict)  # table name → values re-encrypted

    @property
    def total(self) -> int:
        return sum(self.values.values())


async def reencrypt_all(db: Database, *, batch: int = 500) -> RotationReport:
    """Re-encrypt every stored secret with `db.keys`' newest key."""
    report = RotationReport()
    for table in metadata.sorted_tables:
        columns = encrypted_columns(table)
        if columns:
            report.values[table.name] = await _rotate_table(db, table, columns, batch)
    return report


async def _rotate_table(
    db: Database, table: sa.Table, columns: list[sa.Column[Any]], batch: int
) -> int:
    keys = list(table.primary_key.columns)
    after: tuple[Any, ...] | None = None
    done = 0
    while True:
        async with db.write() as conn:
            rows = (await conn.execute(_page(keys, columns, after, batch))).all()
            for row in rows:
                done += await _rotate_row(conn, db, table, keys, columns, row._mapping)
        if len(rows) < batch:
            return done
        after = tuple(rows[-1]._mapping[key.name] for key in keys)


def _page(
    keys: list[sa.Column[Any]],
    columns: list[sa.Column[Any]],
    after: tuple[Any, ...] | None,
    size: int,
) -> sa.Select[Any]:
    stmt = sa.select(*keys, *columns).order_by(*keys).limit(size).with_for_update()
    if after is not None:
        bound = [sa.literal(value, type_=key.type) for key, value in zip(keys, after, strict=True)]
        stmt = stmt.where(sa.tuple_(*keys) > sa.tuple_(*bound))
    return stmt


async def _rotate_row(
    conn: AsyncConnection,
    db: Database,
    table: sa.Table,
    keys: list[sa.Column[Any]],
    columns: list[sa.Column[Any]],
    row: Any,
) -> int:
    changes = {
        col.name: db.keys.rotate(row[col.name]) for col in columns if row[col.name] is not None
    }
    if changes:
        where = [key == row[key.name] for key in keys]
        await conn.execute(table.update().where(*where).values(changes))
    return len(changes)
