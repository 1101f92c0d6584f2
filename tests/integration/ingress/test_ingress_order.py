"""WH-7: arrival order does not decide the final state. Five versions of one record arrive as
webhook fetches in 500 random orders, with duplicates; the write path the webhook job uses
(`sync.ingest`, source webhook) always ends with the newest version stored, never lets an older
one replace a newer one, and announces each version at most once."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from chronobridge.domain.events import ChangeKind, ChangeSource
from chronobridge.domain.mappings import default_mapping
from chronobridge.domain.timezones import TimeZones
from chronobridge.store import Database, Records
from chronobridge.store.tables import change_events
from chronobridge.sync import ingest
from support.ingress import register_app

ORDERS = 500
VERSIONS = 5
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _version(record_id: int, n: int) -> dict[str, object]:
    stamp = (START + timedelta(minutes=n)).replace(tzinfo=None).isoformat(timespec="seconds")
    return {"id": record_id, "title": f"Version{n}", "updated_at": stamp, "doctor": None}


@pytest.mark.slow
@pytest.mark.parametrize("db_kind", ["sqlite"])
async def test_the_newest_version_wins_in_any_order(database: Database) -> None:
    app_id = await register_app(database)
    rng, zones, mapping = random.Random(7), TimeZones(), default_mapping()
    records = Records(database)
    for order in range(ORDERS):
        record_id = 10_000 + order
        arrivals = list(range(VERSIONS)) + rng.choices(range(VERSIONS), k=rng.randint(0, 4))
        rng.shuffle(arrivals)
        newest_seen = -1
        async with database.write() as tx:  # one transaction per order keeps the test quick
            for n in arrivals:
                await ingest(
                    database, app_id=app_id, resource="tasks",
                    records=[_version(record_id, n)], source=ChangeSource.WEBHOOK,
                    connection_id=None, timezones=zones, mapping=mapping,
                    delivery_id=f"d-{order}-{n}", kind=ChangeKind.UPDATED, tx=tx,
                )  # fmt: skip
                newest_seen = max(newest_seen, n)
                stored = await records.get(
                    app_id=app_id, resource="tasks", external_id=str(record_id), tx=tx
                )
                assert stored is not None
                assert stored.payload["title"] == f"Version{newest_seen}"  # never older
        stored = await records.get(app_id=app_id, resource="tasks", external_id=str(record_id))
        assert stored is not None
        assert stored.payload["title"] == f"Version{VERSIONS - 1}"
    async with database.read() as conn:
        rows = (
            await conn.execute(sa.select(change_events.c.external_id, change_events.c.updated_at))
        ).all()
    assert len(rows) == len(set(rows))  # each version announced at most once
    assert len({row[0] for row in rows}) == ORDERS
