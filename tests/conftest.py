"""Fixtures shared by every test layer."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long reliability tests (marked slow) first: with `-n 2` a 60 s test started last
    leaves one worker idle while the other finishes it; started first, the short ones fill in."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
