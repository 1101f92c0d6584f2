"""The worker runtime's fixtures, for the write-back workflow tests."""

from __future__ import annotations

from support.dbos_runtime import (  # noqa: F401  (fixtures are found by name)
    worker_cipher,
    worker_database,
    worker_db_kind,
    worker_key,
    worker_pg_template,
)
