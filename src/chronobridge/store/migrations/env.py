"""Alembic's environment for the hub: only ever run through chronobridge.store (open_database or
`python -m chronobridge.store.migrations`), which passes in an open connection.

The whole upgrade is one transaction. On SQLite it starts with BEGIN IMMEDIATE (the engine's
hook), so a second process starting at the same moment waits, then finds the schema current.
On PostgreSQL a transaction-scoped advisory lock does the same.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from chronobridge.store.tables import metadata

# "cbmigrat" as a 64-bit integer: the advisory lock that serializes migrations on PostgreSQL.
MIGRATION_LOCK = 7161406656947052916


def run() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, sa.Connection):
        raise RuntimeError("Run migrations through chronobridge.store.open_database.")
    is_sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=is_sqlite,
        transactional_ddl=True,
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
            )
        context.run_migrations()


run()
