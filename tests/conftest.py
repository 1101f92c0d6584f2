"""Fixtures shared by every test layer."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Real databases (SQLite and PostgreSQL) for store-backed tests: see tests/support/databases.py.
from support.databases import (  # noqa: F401  (fixtures are found by name)
    blank_database_url,
    database,
    database_url,
    db_kind,
    keyring,
    postgres,
    postgres_template,
    sqlite_template,
)
