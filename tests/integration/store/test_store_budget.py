"""The shared API budget (DP-11): exact under concurrent processes, priorities with a reserve,
every worker parked after a 429, a fresh window at the top of the hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chronobridge.domain.budget import Priority, ceiling
from chronobridge.errors import BudgetExhausted, ConfigError
from chronobridge.store import Apps, AppSpec, Budget, Database, KeyRing
from support.store_workers import Workers

NOW = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)
TOP = datetime(2026, 5, 4, 11, 0, tzinfo=UTC)


async def app_with_limit(db: Database, limit: int) -> int:
    spec = AppSpec(
        name="a", client_id="c", client_secret="s", redirect_uris=("http://x/cb",), rate_limit=limit
    )
    return (await Apps(db).create(spec, now=NOW)).id


async def drain(budget: Budget, app_id: int, priority: Priority, now: datetime) -> int:
    granted = 0
    while True:
        try:
            await budget.reserve(app_id, priority, now=now)
        except BudgetExhausted:
            return granted
        granted += 1


async def test_interactive_calls_get_the_whole_limit_then_wait_for_the_hour(
    database: Database,
) -> None:
    app_id = await app_with_limit(database, 20)
    budget = Budget(database)
    first = await budget.reserve(app_id, Priority.INTERACTIVE, now=NOW)
    assert (first.used, first.limit, first.window_start) == (1, 20, TOP - timedelta(hours=1))
    assert await drain(budget, app_id, Priority.INTERACTIVE, NOW) == 19
    with pytest.raises(BudgetExhausted) as refused:
        await budget.reserve(app_id, Priority.INTERACTIVE, now=NOW)
    assert refused.value.resume_at == TOP
    granted = await budget.reserve(app_id, Priority.INTERACTIVE, now=TOP)
    assert granted.used == 1


async def test_lower_priorities_leave_the_reserve_to_higher_ones(database: Database) -> None:
    app_id = await app_with_limit(database, 20)
    budget = Budget(database)
    order = [Priority.BACKFILL, Priority.POLL, Priority.WEBHOOK, Priority.INTERACTIVE]
    grants = [await drain(budget, app_id, p, NOW) for p in order]
    assert grants == [12, 3, 3, 2]
    usage = await budget.usage(app_id, now=NOW)
    assert usage.used == 20
    assert usage.by_priority == dict(zip(order, grants, strict=True))
    assert all(usage.available(p) == 0 for p in Priority)


async def test_background_work_cannot_reach_the_interactive_reserve(database: Database) -> None:
    app_id = await app_with_limit(database, 500)
    budget = Budget(database)
    assert await drain(budget, app_id, Priority.POLL, NOW) == ceiling(Priority.POLL, 500) == 375
    usage = await budget.usage(app_id, now=NOW)
    assert usage.available(Priority.INTERACTIVE) == 125
    assert usage.available(Priority.WEBHOOK) == 75
    assert usage.available(Priority.BACKFILL) == 0


async def test_a_cost_counts_several_calls(database: Database) -> None:
    app_id = await app_with_limit(database, 10)
    budget = Budget(database)
    assert (await budget.reserve(app_id, Priority.INTERACTIVE, now=NOW, cost=7)).used == 7
    with pytest.raises(BudgetExhausted):
        await budget.reserve(app_id, Priority.INTERACTIVE, now=NOW, cost=4)
    assert (await budget.reserve(app_id, Priority.INTERACTIVE, now=NOW, cost=3)).used == 10


async def test_a_429_parks_every_priority_until_drchronos_time(database: Database) -> None:
    app_id = await app_with_limit(database, 500)
    budget = Budget(database)
    await budget.reserve(app_id, Priority.POLL, now=NOW)
    until = NOW + timedelta(minutes=7)
    await budget.park(app_id, until, now=NOW)
    for priority in Priority:
        with pytest.raises(BudgetExhausted) as refused:
            await budget.reserve(app_id, priority, now=NOW + timedelta(minutes=1))
        assert refused.value.resume_at == until
    assert (await budget.usage(app_id, now=NOW)).parked_until == until
    assert (await budget.reserve(app_id, Priority.INTERACTIVE, now=until)).used == 2
    assert (await budget.usage(app_id, now=until)).parked_until is None


async def test_a_park_past_the_hour_holds_in_the_next_window(database: Database) -> None:
    app_id = await app_with_limit(database, 500)
    budget = Budget(database)
    until = TOP + timedelta(minutes=5)
    await budget.park(app_id, until, now=NOW)
    with pytest.raises(BudgetExhausted) as refused:
        await budget.reserve(app_id, Priority.WEBHOOK, now=TOP + timedelta(minutes=1))
    assert refused.value.resume_at == until
    assert (await budget.reserve(app_id, Priority.WEBHOOK, now=until)).used == 1


async def test_a_shorter_park_never_cuts_a_longer_one(database: Database) -> None:
    app_id = await app_with_limit(database, 500)
    budget = Budget(database)
    await budget.park(app_id, NOW + timedelta(minutes=20), now=NOW)
    await budget.park(app_id, NOW + timedelta(minutes=2), now=NOW)
    usage = await budget.usage(app_id, now=NOW)
    assert usage.parked_until == NOW + timedelta(minutes=20)


async def test_usage_of_an_untouched_window(database: Database) -> None:
    app_id = await app_with_limit(database, 500)
    usage = await Budget(database).usage(app_id, now=NOW)
    assert (usage.used, usage.limit, usage.parked_until) == (0, 500, None)
    assert usage.window_end == TOP
    assert usage.available(Priority.BACKFILL) == 300


async def test_an_unknown_app_is_a_config_error(database: Database) -> None:
    with pytest.raises(ConfigError):
        await Budget(database).reserve(404, Priority.POLL, now=NOW)


async def test_old_windows_can_be_pruned(database: Database) -> None:
    app_id = await app_with_limit(database, 500)
    budget = Budget(database)
    await budget.reserve(app_id, Priority.POLL, now=NOW - timedelta(hours=3))
    await budget.reserve(app_id, Priority.POLL, now=NOW)
    assert await budget.prune(before=NOW - timedelta(hours=1)) == 1
    assert (await budget.usage(app_id, now=NOW)).used == 1


@pytest.mark.slow
async def test_sixteen_processes_never_exceed_the_limit(
    database: Database, database_url: str, keyring: KeyRing
) -> None:
    """8 back-fill and 8 interactive processes race for 200 calls with 400 attempts."""
    limit, attempts = 200, 25
    app_id = await app_with_limit(database, limit)
    backfill = Workers(
        keyring, "budget", database_url, str(app_id), "backfill", str(attempts), count=8
    )
    interactive = Workers(
        keyring, "budget", database_url, str(app_id), "interactive", str(attempts), count=8
    )
    try:
        for group in (backfill, interactive):
            group.wait_ready()
        backfill.go()
        interactive.go()
        low, high = backfill.results(), interactive.results()
    finally:
        backfill.kill()
        interactive.kill()
    granted_low = sum(r["granted"] for r in low)
    granted_high = sum(r["granted"] for r in high)
    assert all(r["granted"] + r["refused"] == attempts for r in low + high)
    usage = await Budget(database).usage(app_id)
    assert granted_low + granted_high == usage.used == limit
    assert granted_low == usage.by_priority[Priority.BACKFILL] <= ceiling(Priority.BACKFILL, limit)
    assert granted_high == usage.by_priority[Priority.INTERACTIVE]
