"""The sync tests use the store's fixtures (tests/conftest.py) and the worker runtime's."""

from __future__ import annotations

from support.dbos_runtime import (  # noqa: F401  (fixtures are found by name)
    worker_cipher,
    worker_database,
    worker_db_kind,
    worker_key,
    worker_pg_template,
)
