"""Deauthorization with DrChrono's semantics: a provider's takes their staff along, a staff
member's only their own (and the group's iframe registration, at DrChrono too); tokens revoked
at DrChrono and deleted here whatever DrChrono answers; what DrChrono did not confirm is held
for a retry; jobs refused; every step audited."""

from __future__ import annotations

from dataclasses import replace

import httpx2
import pytest
from connections_rig import EMULATOR, Rig
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.client import DrChronoClient
from chronobridge.connections import (
    Cleanup,
    SharedBudget,
    deauthorize,
    ensure_active,
    finish_cleanup,
    open_client,
    register_iframe,
    token_source,
)
from chronobridge.errors import NeedsReconnect
from chronobridge.store import (
    AuditLog,
    Connection,
    Connections,
    ConnectionStatus,
    IframeRegistrations,
    Tokens,
)


async def _status(rig: Rig) -> dict[str, ConnectionStatus]:
    return {c.username: c.status for c in await Connections(rig.services.db).list()}


async def _answers_with(rig: Rig, access_token: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    async with httpx2.AsyncClient(transport=rig.spy.inner, base_url=EMULATOR) as http:
        return (await http.get("/api/doctors", headers=headers)).status_code


class HeldCleanups:
    """The CleanupQueue port in memory: what a worker job would be given, and what was settled
    (the worker's job itself is tested in test_connections_cleanup_job.py)."""

    def __init__(self) -> None:
        self.held: list[Cleanup] = []
        self.settled: list[Cleanup] = []

    async def hold(self, tx: AsyncConnection, cleanup: Cleanup) -> None:
        self.held.append(cleanup)

    async def settle(self, cleanup: Cleanup) -> None:
        self.settled.append(cleanup)


async def _tokens(rig: Rig, *connections: Connection) -> list[str]:
    found = [await Tokens(rig.services.db).get(c.id) for c in connections]
    return [t.access_token for t in found if t is not None]


async def test_a_providers_deauthorization_removes_their_staff_too(rig: Rig) -> None:
    doctor = await rig.connect("doctor1")
    staff = [await rig.connect(name) for name in ("staff1", "manager1")]
    others = [await rig.connect("doctor2"), await rig.connect("staff3")]
    await register_iframe(rig.services, doctor.id)
    held = await _tokens(rig, doctor, *staff)
    queue = HeldCleanups()
    done = await deauthorize(rig.services, doctor.id, actor="test", reason="offboarding",
                             queue=queue)  # fmt: skip
    assert [c.username for c in done.removed] == ["doctor1", "staff1", "manager1"]
    assert (done.revoked, done.revoke_failed, done.iframe_removed) == (6, 0, True)
    assert (rig.app.client_id, doctor.doctor_id) not in rig.state.iframes  # gone at DrChrono
    assert (done.iframe_left, done.retrying) == (False, False)
    assert queue.settled == queue.held
    assert len(queue.held) == 1
    assert await _status(rig) == {
        "doctor1": ConnectionStatus.DEAUTHORIZED,
        "staff1": ConnectionStatus.DEAUTHORIZED,
        "manager1": ConnectionStatus.DEAUTHORIZED,
        "doctor2": ConnectionStatus.ACTIVE,
        "staff3": ConnectionStatus.ACTIVE,
    }
    assert await _tokens(rig, doctor, *staff) == []
    assert [await _answers_with(rig, token) for token in held] == [401, 401, 401]
    for connection in others:
        async with await open_client(rig.services, connection.id) as client:
            await client.call("doctors_list")


async def test_a_staff_members_deauthorization_removes_only_theirs_and_the_iframe(
    rig: Rig,
) -> None:
    doctor = await rig.connect("doctor1")
    staff = await rig.connect("staff1")
    await register_iframe(rig.services, doctor.id)
    assert (rig.app.client_id, doctor.doctor_id) in rig.state.iframes
    done = await deauthorize(rig.services, staff.id, actor="test")
    assert [c.username for c in done.removed] == ["staff1"]
    assert done.iframe_removed
    assert await IframeRegistrations(rig.services.db).list() == []
    assert (rig.app.client_id, doctor.doctor_id) not in rig.state.iframes  # with doctor1's token
    assert await _status(rig) == {
        "doctor1": ConnectionStatus.ACTIVE,
        "staff1": ConnectionStatus.DEAUTHORIZED,
    }
    async with await open_client(rig.services, doctor.id) as client:
        await client.call("doctors_list")


async def test_the_jobs_of_a_deauthorized_connection_refuse_to_run(rig: Rig) -> None:
    staff = await rig.connect("staff2")
    async with await open_client(rig.services, staff.id) as client:
        await deauthorize(rig.services, staff.id, actor="test")
        sent = len(rig.spy.paths)
        with pytest.raises(NeedsReconnect, match="staff2 was deauthorized"):
            await client.call("doctors_list")  # a client opened before: its tokens are gone
    with pytest.raises(NeedsReconnect, match="deauthorized"):
        await ensure_active(rig.services, staff.id)
    with pytest.raises(NeedsReconnect):
        await open_client(rig.services, staff.id)
    assert len(rig.spy.paths) == sent


async def test_another_process_sends_nothing_once_the_connection_is_deauthorized(
    rig: Rig,
) -> None:
    """OA-11: after the deauthorization no call goes out with the token, even from a process
    (its own token sources) that still holds it in memory."""
    doctor = await rig.connect("doctor1")
    other = replace(rig.services, sources={})
    async with await open_client(other, doctor.id) as client:
        await client.call("doctors_list")  # the token is in that process's memory now
        await deauthorize(rig.services, doctor.id, actor="test")
        sent = len(rig.spy.paths)
        with pytest.raises(NeedsReconnect, match="doctor1 was deauthorized"):
            await client.call("doctors_list")
    assert len(rig.spy.paths) == sent


async def test_a_client_without_the_status_check_rereads_its_token_in_time(rig: Rig) -> None:
    """A client composed from the token source alone (no connection on its budget) reads the
    stored token again every `token_recheck` seconds: here at once."""
    doctor = await rig.connect("doctor1")
    other = replace(rig.services, sources={}, token_recheck=0.0)
    budget = SharedBudget(other, app_id=rig.app.id, app_name=rig.app.name)
    tokens = token_source(other, rig.app, doctor)
    async with DrChronoClient(tokens=tokens, base_url=EMULATOR, transport=rig.spy,
                              budget=budget) as client:  # fmt: skip
        await client.call("doctors_list")
        await deauthorize(rig.services, doctor.id, actor="test")
        sent = len(rig.spy.paths)
        with pytest.raises(NeedsReconnect, match="doctor1 was deauthorized"):
            await client.call("doctors_list")
    assert len(rig.spy.paths) == sent


async def test_tokens_are_deleted_here_even_when_drchrono_is_unreachable(rig: Rig) -> None:
    doctor = await rig.connect("doctor1")
    rig.spy.down = True
    done = await deauthorize(rig.services, doctor.id, actor="test")
    assert (done.revoked, done.revoke_failed) == (0, 2)
    assert await Tokens(rig.services.db).get(doctor.id) is None
    assert (await _status(rig))["doctor1"] is ConnectionStatus.DEAUTHORIZED
    actions = [r.action for r in await AuditLog(rig.services.db).recent()]
    assert actions[:2] == ["connection.revoke_failed", "connection.deauthorize"]


async def test_what_drchrono_did_not_confirm_is_held_and_finished_later(rig: Rig) -> None:
    """A provider leaves while DrChrono is down: the iframe stays registered (here and there),
    the provider's token is kept for its removal, and the held work finishes it all later
    without ever using a token after it is revoked."""
    doctor = await rig.connect("doctor1")
    staff = await rig.connect("staff1")
    await register_iframe(rig.services, doctor.id)
    held_tokens = await _tokens(rig, doctor, staff)
    queue = HeldCleanups()
    rig.spy.down = True
    done = await deauthorize(rig.services, doctor.id, actor="test", queue=queue)
    assert (done.revoked, done.revoke_failed, done.iframe_removed) == (0, 4, False)
    assert (done.iframe_left, done.iframe_retrying, done.retrying) == (True, True, True)
    assert queue.settled == []
    assert (rig.app.client_id, doctor.doctor_id) in rig.state.iframes
    assert len(await IframeRegistrations(rig.services.db).list()) == 1
    rig.spy.down = False
    (cleanup,) = queue.held
    sent = len(rig.spy.paths)
    outcome = await finish_cleanup(rig.services, cleanup)  # what the worker job does
    assert outcome.left.empty
    assert outcome.iframe_removed
    assert outcome.revoked == 4
    assert (rig.app.client_id, doctor.doctor_id) not in rig.state.iframes
    assert await IframeRegistrations(rig.services.db).list() == []
    assert rig.spy.paths[sent:] == ["/api/iframe_integration", *["/o/revoke_token/"] * 4]
    assert [await _answers_with(rig, token) for token in held_tokens] == [401, 401]
    again = await finish_cleanup(rig.services, cleanup)  # a second run: harmless, no iframe call
    assert again.left.empty
    assert not again.iframe_removed
    assert "/api/iframe_integration" not in rig.spy.paths[sent + 5 :]


async def test_a_staff_deauthorization_without_a_provider_token_says_the_iframe_stays(
    rig: Rig,
) -> None:
    doctor = await rig.connect("doctor1")
    staff = await rig.connect("staff1")
    await register_iframe(rig.services, doctor.id)
    await rig.emulator("POST", "/_emulator/tokens/expire", {"user": "doctor1"})
    rig.spy.refuse_api = True  # doctor1's grant is dead at DrChrono
    with pytest.raises(NeedsReconnect):
        async with await open_client(rig.services, doctor.id) as client:
            await client.call("doctors_list")
    rig.spy.refuse_api = False
    queue = HeldCleanups()
    done = await deauthorize(rig.services, staff.id, actor="test", queue=queue)
    assert (done.revoked, done.iframe_removed, done.iframe_left) == (2, False, True)
    assert done.iframe_retrying  # the job waits for the provider's connection to work again
    assert (rig.app.client_id, doctor.doctor_id) in rig.state.iframes


async def test_deauthorization_is_audited_and_the_chain_verifies(rig: Rig) -> None:
    doctor = await rig.connect("doctor1")
    await rig.connect("staff1")
    await deauthorize(rig.services, doctor.id, actor="user:admin", reason="left the practice")
    audit = AuditLog(rig.services.db)
    (row,) = [r for r in await audit.recent() if r.action == "connection.deauthorize"]
    assert (row.actor, row.target_id, row.reason) == ("user:admin", str(doctor.id),
                                                      "left the practice")  # fmt: skip
    assert row.details["connections"] == 2
    assert row.details["staff_connections"] == 1
    assert (await audit.verify()).ok
