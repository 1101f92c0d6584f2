"""The shared budget as the client uses it: priorities with an interactive reserve, who waits
and who is told at once, a 429 that parks every caller, and the metrics of it all."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta

import pytest
from connections_rig import Rig

from chronobridge.connections import SharedBudget, WaitPolicy, open_client
from chronobridge.domain.budget import Priority, window_end
from chronobridge.errors import BudgetExhausted, NotFound, RateLimited
from chronobridge.store import ApiCallLog, Apps, AppSpec, Budget


async def _limit(rig: Rig, limit: int, *, waiting: float = 120) -> SharedBudget:
    spec = AppSpec(**{f.name: getattr(rig.app, f.name) for f in fields(AppSpec)})
    await Apps(rig.services.db).update(rig.app.id, replace(spec, rate_limit=limit))
    services = replace(rig.services, policy=WaitPolicy(background_seconds=waiting))
    return SharedBudget(services, app_id=rig.app.id, app_name=rig.app.name)


async def _take(budget: SharedBudget, priority: Priority) -> int:
    taken = 0
    while True:
        try:
            await budget.reserve(priority)
        except BudgetExhausted:
            return taken
        taken += 1


def _mid_hour(rig: Rig) -> None:
    """Put the hub's clock at 20 past the hour, so no test meets the top of the hour."""
    now = datetime.now(UTC)
    target = now.replace(minute=20, second=0, microsecond=0)
    rig.clock.offset = target - now


async def test_each_priority_stops_at_its_ceiling_and_interactive_gets_the_rest(rig: Rig) -> None:
    _mid_hour(rig)
    budget = await _limit(rig, 20, waiting=0)
    assert await _take(budget, Priority.BACKFILL) == 12  # 60 %
    assert await _take(budget, Priority.POLL) == 3  # up to 75 %
    assert await _take(budget, Priority.WEBHOOK) == 3  # up to 90 %
    assert await _take(budget, Priority.INTERACTIVE) == 2  # the reserve
    usage = await Budget(rig.services.db).usage(rig.app.id, now=rig.clock())
    assert usage.used == 20


async def test_an_interactive_caller_is_told_at_once_when_calls_resume(rig: Rig) -> None:
    _mid_hour(rig)
    budget = await _limit(rig, 3)
    assert await _take(budget, Priority.INTERACTIVE) == 3
    # The first seconds of the next hour still count in this one (DrChrono's clock is not ours).
    resume_at = window_end(rig.clock()) + rig.services.window_margin
    with pytest.raises(BudgetExhausted, match=f"resume at {resume_at:%H:%M:%S} UTC") as refused:
        await budget.reserve(Priority.INTERACTIVE)
    assert refused.value.resume_at == resume_at
    assert rig.sleeps == []


async def test_a_background_caller_waits_out_the_last_minute_of_the_hour(rig: Rig) -> None:
    now = datetime.now(UTC)
    rig.clock.offset = window_end(now) - now - timedelta(seconds=60)
    budget = await _limit(rig, 4)
    assert await _take(budget, Priority.INTERACTIVE) == 4
    await budget.reserve(Priority.POLL)  # sleeps ~65 s (the fake sleep moves the clock)
    margin = rig.services.window_margin.total_seconds()
    assert len(rig.sleeps) == 1
    assert 59 + margin < rig.sleeps[0] < 61.5 + margin
    rig.clock.offset -= timedelta(hours=1)  # far from the top of the hour: no waiting
    assert await _take(budget, Priority.POLL) == 0
    assert len(rig.sleeps) == 1


async def test_a_call_at_the_top_of_the_hour_counts_in_both_windows(rig: Rig) -> None:
    """DrChrono may count a call made in the last seconds of an hour in the next one (its clock
    is not ours, and the call takes a moment): within the margin it counts in both, and must
    fit in both."""
    margin = rig.services.window_margin
    now = datetime.now(UTC)
    top = window_end(now)
    rig.clock.offset = top - now - margin / 2  # 2.5 s before the top of the hour
    budget = await _limit(rig, 10, waiting=0)
    assert await _take(budget, Priority.INTERACTIVE) == 10
    store = Budget(rig.services.db)
    before = await store.usage(rig.app.id, now=top - margin)
    after = await store.usage(rig.app.id, now=top + margin)
    assert (before.used, after.used) == (10, 10)  # every one of them in both windows
    rig.clock.offset += margin  # 2.5 s into the next hour: the last one is still full
    with pytest.raises(BudgetExhausted) as refused:
        await budget.reserve(Priority.INTERACTIVE)
    assert refused.value.resume_at == top + margin + timedelta(hours=1)
    rig.clock.offset = top - datetime.now(UTC) - timedelta(hours=1) + timedelta(minutes=30)
    assert await _take(budget, Priority.INTERACTIVE) == 0  # the earlier hour: spent as well


async def test_a_full_hour_holds_the_first_seconds_of_the_next(rig: Rig) -> None:
    margin = rig.services.window_margin
    now = datetime.now(UTC)
    top = window_end(now)
    rig.clock.offset = top - now - timedelta(minutes=10)
    budget = await _limit(rig, 4, waiting=0)
    assert await _take(budget, Priority.INTERACTIVE) == 4
    rig.clock.offset = top - datetime.now(UTC) + margin / 2  # DrChrono may still be before it
    with pytest.raises(BudgetExhausted) as refused:
        await budget.reserve(Priority.INTERACTIVE)
    assert refused.value.resume_at == top + margin
    rig.clock.offset = top - datetime.now(UTC) + margin
    assert await _take(budget, Priority.INTERACTIVE) == 4


async def test_a_429_parks_every_caller_of_the_application(rig: Rig) -> None:
    _mid_hour(rig)
    connection = await rig.connect("doctor1")
    fault = {"kind": "throttle", "count": 1, "retry_after": 30}
    await rig.emulator("POST", "/_emulator/faults", fault)
    async with await open_client(rig.services, connection.id) as client:
        with pytest.raises(RateLimited):
            await client.call("doctors_list")
        with pytest.raises(BudgetExhausted, match="pause"):  # interactive: told at once
            await client.call("doctors_list")
        poll = client.with_options(priority=Priority.POLL)
        page = await poll.call("doctors_list")  # background: waits the 30 s out
    assert len(page["results"]) == 3
    assert len(rig.sleeps) == 1
    assert 29 < rig.sleeps[0] < 31
    assert rig.state.stats.by_status["429"] == 1


async def test_a_short_park_says_the_actual_wait(rig: Rig) -> None:
    _mid_hour(rig)
    connection = await rig.connect("doctor1")
    fault = {"kind": "throttle", "count": 1, "retry_after": 120}
    await rig.emulator("POST", "/_emulator/faults", fault)
    async with await open_client(rig.services, connection.id) as client:
        with pytest.raises(RateLimited) as limited:
            await client.call("doctors_list")
        assert limited.value.hint == "Try again in 120 s; chronobridge budget shows the use."
        with pytest.raises(BudgetExhausted) as parked:
            await client.call("doctors_list")
    assert parked.value.hint == (
        "Try again in 2 min, when DrChrono's pause ends; chronobridge budget shows the use."
    )


async def test_calls_are_logged_and_counted_in_the_metrics(rig: Rig) -> None:
    connection = await rig.connect("doctor1")
    async with await open_client(rig.services, connection.id) as client:
        await client.call("doctors_list")
        with pytest.raises(NotFound):
            await client.call("patients_read", id=1)
    calls = await ApiCallLog(rig.services.db).recent()
    missing = [c for c in calls if c.status == 404]
    paths = {(c.method, c.path, c.status) for c in calls}
    assert ("POST", "/o/token/", 200) in paths
    assert ("GET", "/api/users/current", 302) in paths
    assert ("GET", "/api/doctors", 200) in paths
    assert missing[0].path == "/api/patients/{id}"
    assert missing[0].error_class == "NotFound"
    assert missing[0].connection_id == connection.id
    usage = await Budget(rig.services.db).usage(rig.app.id, now=rig.clock())
    rig.services.metrics.observe_usage(rig.app.name, usage)
    text = rig.services.metrics.exposition()
    assert 'chronobridge_api_calls_total{app="emu",priority="interactive",status="404"} 1.0' in text
    assert f'chronobridge_budget_used{{app="emu"}} {float(usage.used)}' in text
    assert 'chronobridge_budget_limit{app="emu"} 100000.0' in text
