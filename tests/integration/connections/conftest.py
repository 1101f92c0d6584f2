"""Fixtures: the connection services against the emulator in process, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from connections_rig import Rig, make_rig

from chronobridge.store import Database
from support.dbos_runtime import (  # noqa: F401  (fixtures are found by name)
    worker_cipher,
    worker_database,
    worker_db_kind,
    worker_key,
    worker_pg_template,
)


@pytest.fixture
async def rig(database: Database) -> AsyncIterator[Rig]:
    made = await make_rig(database)
    async with made.control:
        yield made
