"""Tokens: refreshed ahead of expiry, once for many callers, and a dead grant ends the
connection as needs_reconnect after exactly one refresh attempt (OA-6, OA-8, OA-9, OA-10)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from connections_rig import Rig

from chronobridge.connections import ensure_active, open_client, token_source
from chronobridge.errors import BudgetExhausted, NeedsReconnect, RateLimited
from chronobridge.store import AuditLog, Connections, ConnectionStatus, Tokens

HOUR = 3600.0


async def _doctors(rig: Rig, connection_id: int) -> int:
    async with await open_client(rig.services, connection_id) as client:
        return len([d async for d in client.doctors.list()])


async def test_a_token_is_refreshed_once_less_than_a_tenth_of_its_life_is_left(rig: Rig) -> None:
    connection = await rig.connect("doctor1")
    first = await Tokens(rig.services.db).get(connection.id)
    assert first is not None
    rig.clock.advance(43 * HOUR)  # 5 h of 48 left: more than 10 %
    await _doctors(rig, connection.id)
    assert rig.spy.count("/o/token/") == 1  # the code exchange only
    rig.clock.advance(1 * HOUR)  # 4 h left: less than 4.8 h
    await _doctors(rig, connection.id)
    await _doctors(rig, connection.id)
    assert rig.spy.count("/o/token/") == 2
    stored = await Tokens(rig.services.db).get(connection.id)
    assert stored is not None
    assert stored.generation == first.generation + 1
    assert stored.refresh_token != first.refresh_token
    assert 401 not in rig.state.stats.by_status  # never a call with an expired token


async def test_fifty_callers_meeting_a_401_refresh_once(rig: Rig) -> None:
    connection = await rig.connect("doctor1")
    assert await _doctors(rig, connection.id) == 3
    await rig.emulator("POST", "/_emulator/tokens/expire", {"user": "doctor1"})
    async with await open_client(rig.services, connection.id) as client:
        counts = await asyncio.gather(*[client.call("doctors_list") for _ in range(50)])
    assert all(len(page["results"]) == 3 for page in counts)
    assert rig.spy.count("/o/token/") == 2  # the exchange and one refresh


async def test_a_withdrawn_grant_needs_reconnect_after_one_refresh_attempt(rig: Rig) -> None:
    connection = await rig.connect("doctor1")
    await _doctors(rig, connection.id)
    body = {"client_id": rig.app.client_id, "user": "doctor1"}
    await rig.emulator("POST", "/_emulator/app-directory/deauthorize", body)
    with pytest.raises(NeedsReconnect, match="no longer accepts the authorization of doctor1"):
        await _doctors(rig, connection.id)
    assert rig.spy.count("/o/token/") == 2
    after = await Connections(rig.services.db).get(connection.id)
    assert after is not None
    assert after.status is ConnectionStatus.NEEDS_RECONNECT
    assert await Tokens(rig.services.db).get(connection.id) is None
    sent = len(rig.spy.paths)
    with pytest.raises(NeedsReconnect):  # its jobs stop: nothing is sent any more
        await _doctors(rig, connection.id)
    with pytest.raises(NeedsReconnect):
        await ensure_active(rig.services, connection.id)
    assert len(rig.spy.paths) == sent
    actions = [r.action for r in await AuditLog(rig.services.db).recent()]
    assert actions.count("connection.needs_reconnect") == 1


async def test_a_token_refused_right_after_its_refresh_ends_the_grant(rig: Rig) -> None:
    """OA-9: at most two attempts per request; the second 401 marks the connection
    needs_reconnect, so later requests send nothing instead of refreshing each time."""
    connection = await rig.connect("doctor1")
    rig.spy.refuse_api = True
    with pytest.raises(NeedsReconnect, match="no longer accepts the authorization of doctor1"):
        await _doctors(rig, connection.id)
    assert [p for p in rig.spy.paths if p.startswith("/api/doctors")] == ["/api/doctors"] * 2
    assert rig.spy.count("/o/token/") == 2  # the exchange and the one refresh
    after = await Connections(rig.services.db).get(connection.id)
    assert after is not None
    assert after.status is ConnectionStatus.NEEDS_RECONNECT
    sent = len(rig.spy.paths)
    with pytest.raises(NeedsReconnect):
        await _doctors(rig, connection.id)
    assert len(rig.spy.paths) == sent
    actions = [r.action for r in await AuditLog(rig.services.db).recent()]
    assert actions.count("connection.needs_reconnect") == 1


async def test_a_token_another_process_replaced_is_used_without_refreshing(rig: Rig) -> None:
    """OA-12: worker A still holds the old token; the user reconnects through worker B."""
    connection = await rig.connect("doctor1")
    await _doctors(rig, connection.id)  # A caches its token
    other = replace(rig.services, sources={})  # another process: its own token sources
    await rig.connect("doctor1")  # B: the emulator revokes the old pair
    assert other.sources == {}
    assert await _doctors(rig, connection.id) == 3  # 401, re-read, the new token
    assert rig.spy.count("/o/token/") == 2  # two code exchanges, no refresh


async def test_a_429_at_the_token_endpoint_parks_the_application(rig: Rig) -> None:
    connection = await rig.connect("doctor1")
    fault = {"kind": "throttle", "count": 1, "retry_after": 30, "path": "/o/token/"}
    await rig.emulator("POST", "/_emulator/faults", fault)
    rig.clock.advance(45 * HOUR)
    with pytest.raises(RateLimited):
        await _doctors(rig, connection.id)
    with pytest.raises(BudgetExhausted, match="pause"):
        await _doctors(rig, connection.id)
    stored = await Tokens(rig.services.db).get(connection.id)
    assert stored is not None
    assert stored.generation == 1
    rig.clock.advance(31)
    assert await _doctors(rig, connection.id) == 3


async def test_the_token_source_is_shared_by_every_client_of_the_process(rig: Rig) -> None:
    connection = await rig.connect("doctor1")
    first = token_source(rig.services, rig.app, connection)
    assert token_source(rig.services, rig.app, connection) is first
