"""Fixtures: the connection services against the emulator in process, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from connections_rig import Rig, make_rig

from chronobridge.store import Database


@pytest.fixture
async def rig(database: Database) -> AsyncIterator[Rig]:
    made = await make_rig(database)
    async with made.control:
        yield made
