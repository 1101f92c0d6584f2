"""The worker runtime's fixtures: see tests/support/dbos_runtime.py."""

from __future__ import annotations

from support.dbos_runtime import (  # noqa: F401  (fixtures are found by name)
    dbos_runtime,
    worker_cipher,
    worker_database,
    worker_db_kind,
    worker_key,
    worker_pg_template,
)
