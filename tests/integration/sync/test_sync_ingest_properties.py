"""WH-7-like property: whatever the order and however often versions arrive (polls, webhooks,
re-reads), the store ends with the newest version of each record, never regresses, and makes
one event per version that was new when it arrived; delivering everything again changes
nothing."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sync_support import TZ, make_app, patient

from chronobridge.domain.events import ChangeSource
from chronobridge.domain.mappings import default_mapping
from chronobridge.store import ChangeEvents, Database, Records
from chronobridge.sync import ingest
from chronobridge.sync._prepare import canonical_json, digest_of

_apps = itertools.count(1)

# (patient id 1-4, version 0-5): version v is updated v minutes after the first.
deliveries = st.lists(
    st.lists(st.tuples(st.integers(1, 4), st.integers(0, 5)), min_size=1, max_size=6),
    min_size=1,
    max_size=8,
)


def _record(pid: int, version: int) -> dict[str, object]:
    return patient(pid, minutes=version, last_name=f"V{version}")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=deliveries)
async def test_any_order_of_any_repeats_ends_at_the_newest_version(
    database: Database, batches: list[list[tuple[int, int]]]
) -> None:
    app = await make_app(database, client_id=f"prop-{next(_apps)}")
    expected_events = 0
    newest: dict[int, int] = {}
    for batch in batches:
        fresh_in_batch: dict[int, int] = {}
        for pid, version in batch:
            fresh_in_batch[pid] = max(version, fresh_in_batch.get(pid, -1))
        for pid, version in fresh_in_batch.items():
            if version > newest.get(pid, -1):
                expected_events += 1
                newest[pid] = version
        await _deliver(database, app, batch)
    await _check(database, app, newest, expected_events)
    for batch in reversed(batches):  # everything again, in another order: nothing changes
        await _deliver(database, app, batch)
    await _check(database, app, newest, expected_events)


async def _deliver(database: Database, app: int, batch: list[tuple[int, int]]) -> None:
    await ingest(
        database,
        app_id=app,
        resource="patients",
        records=[_record(pid, version) for pid, version in batch],
        source=ChangeSource.WEBHOOK,
        connection_id=None,
        timezones=TZ,
        mapping=default_mapping(),
    )


async def _check(database: Database, app: int, newest: dict[int, int], events: int) -> None:
    stored = await Records(database).digests(app_id=app, resource="patients")
    want = {str(pid): digest_of(canonical_json(_record(pid, v))) for pid, v in newest.items()}
    assert stored == want
    assert await ChangeEvents(database).count(app_id=app, resource="patients") == events
