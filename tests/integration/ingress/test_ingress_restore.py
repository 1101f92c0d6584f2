"""Deletions and restores of stored records, on the real store (domain.events: each change of a
stored row between live and deleted is its own change event, made once whatever the source).

The property: any sequence of versions seen (by a webhook, a poll or a reconciliation) and
deletions reported (by a webhook or a reconciliation) leaves the record deleted or live as the
last word says, at the newest version seen, and makes exactly one change event per new
version, per deletion of a live record, per restore of a deleted one, and one for deletions of
an id the store never held.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chronobridge.domain.events import ChangeSource
from chronobridge.domain.mappings import default_mapping
from chronobridge.domain.timezones import TimeZones
from chronobridge.store import Apps, AppSpec, Database, Records
from chronobridge.store.tables import change_events, model_rows
from chronobridge.sync import ingest, mark_deleted

TZ = TimeZones.from_doctors([{"id": 268001, "timezone": "US/Eastern"}])
SOURCES = (ChangeSource.WEBHOOK, ChangeSource.POLL, ChangeSource.RECONCILE)
_apps = itertools.count(1)

see = st.tuples(st.just("see"), st.integers(0, 3), st.sampled_from(SOURCES))
delete = st.tuples(st.just("delete"), st.just(0), st.sampled_from(SOURCES[::2]))
operations = st.lists(st.one_of(see, delete), min_size=1, max_size=12)


def _patient(version: int, **extra: Any) -> dict[str, Any]:
    stamp = datetime(2026, 3, 1, 7, 0) + timedelta(minutes=version)
    return {
        "id": 7001, "doctor": 268001, "first_name": "Test", "last_name": f"V{version}",
        "date_of_birth": "1980-01-02", "gender": "Female", "email": "p@example.test",
        "updated_at": stamp.isoformat(timespec="seconds"), **extra,
    }  # fmt: skip


async def _app(db: Database) -> int:
    spec = AppSpec(
        name="restore test",
        client_id=f"restore-{next(_apps)}",
        client_secret="s3cret-not-real",
        redirect_uris=("http://127.0.0.1/cb",),
    )
    return (await Apps(db).ensure(spec)).id


async def _see(db: Database, app: int, record: dict[str, Any], source: ChangeSource) -> int:
    report = await ingest(
        db, app_id=app, resource="patients", records=[record], source=source,
        connection_id=None, timezones=TZ, mapping=default_mapping(),
    )  # fmt: skip
    return report.events


async def _delete(db: Database, app: int, source: ChangeSource) -> int:
    report = await mark_deleted(
        db, app_id=app, resource="patients", external_ids=["7001"], source=source
    )
    return report.events


@dataclass
class Model:
    """What the store should say about record 7001, and how many events it should have."""

    stored: bool = False
    deleted: bool = False
    version: int = -1
    unknown_deleted: bool = False
    events: int = 0

    def see(self, version: int) -> None:
        if not self.stored or version > self.version or (version == self.version and self.deleted):
            self.events += 1
            self.stored, self.deleted = True, False
            self.version = max(version, self.version)

    def delete(self) -> None:
        if self.stored and not self.deleted:
            self.deleted, self.events = True, self.events + 1
        elif not self.stored and not self.unknown_deleted:
            self.unknown_deleted, self.events = True, self.events + 1


async def _state(db: Database, app: int) -> tuple[bool, str | None, int, set[bool]]:
    """(record deleted?, its last name, its events, deleted? of each of its model rows)."""
    found = await Records(db).get(app_id=app, resource="patients", external_id="7001")
    e, m = change_events.c, model_rows.c
    async with db.read() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).where(e.app_id == app))).scalar()
        rows = await conn.execute(sa.select(m.deleted_at).where(m.app_id == app))
        row_states = {deleted is not None for (deleted,) in rows}
    if found is None:
        return False, None, int(count or 0), row_states
    name = str(found.payload["last_name"])
    return found.deleted_at is not None, name, int(count or 0), row_states


@pytest.mark.parametrize("db_kind", ["sqlite"])
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=operations)
async def test_every_deletion_and_restore_is_one_event(
    database: Database, steps: list[tuple[str, int, ChangeSource]]
) -> None:
    app, model = await _app(database), Model()
    for action, version, source in steps:
        if action == "see":
            model.see(version)
            await _see(database, app, _patient(version), source)
        else:
            model.delete()
            await _delete(database, app, source)
    deleted, name, events, row_states = await _state(database, app)
    assert events == model.events
    assert name == (f"V{model.version}" if model.stored else None)
    assert deleted == (model.stored and model.deleted)
    assert row_states <= {model.deleted}  # the practice model follows the record


@pytest.mark.parametrize(
    "db_kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_a_record_deleted_restored_and_deleted_again_has_four_events(
    database: Database,
) -> None:
    app = await _app(database)
    assert await _see(database, app, _patient(1), ChangeSource.POLL) == 1
    assert await _see(database, app, _patient(1), ChangeSource.WEBHOOK) == 0  # same version
    assert await _delete(database, app, ChangeSource.WEBHOOK) == 1  # a wrong deletion
    assert await _delete(database, app, ChangeSource.RECONCILE) == 0  # already deleted
    assert await _see(database, app, _patient(1), ChangeSource.RECONCILE) == 1  # restored
    assert await _see(database, app, _patient(1), ChangeSource.POLL) == 0
    assert await _delete(database, app, ChangeSource.WEBHOOK) == 1  # deleted for real
    deleted, name, events, row_states = await _state(database, app)
    assert (deleted, name, events, row_states) == (True, "V1", 4, {True})


async def test_a_record_drchrono_flags_deleted_stays_deleted_when_seen_again(
    database: Database,
) -> None:
    """A record kept but flagged (`deleted_flag`, `archived`) is not revived by being read
    again: the caller would mark it deleted at once, a second deletion of one record."""
    app = await _app(database)
    assert await _see(database, app, _patient(1), ChangeSource.POLL) == 1
    assert await _delete(database, app, ChangeSource.POLL) == 1
    for flagged in (_patient(1, archived=True), _patient(2, deleted_flag=True)):
        assert await _see(database, app, flagged, ChangeSource.POLL) == 0
        assert await _delete(database, app, ChangeSource.POLL) == 0
    deleted, name, events, _ = await _state(database, app)
    assert (deleted, name, events) == (True, "V1", 2)
