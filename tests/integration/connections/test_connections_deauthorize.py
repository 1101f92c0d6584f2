"""Deauthorization with DrChrono's semantics: a provider's takes their staff along, a staff
member's only their own (and the group's iframe registration); tokens revoked at DrChrono and
deleted here whatever DrChrono answers; jobs refused; every step audited."""

from __future__ import annotations

import httpx2
import pytest
from connections_rig import EMULATOR, Rig

from chronobridge.connections import deauthorize, ensure_active, open_client, register_iframe
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


async def _tokens(rig: Rig, *connections: Connection) -> list[str]:
    found = [await Tokens(rig.services.db).get(c.id) for c in connections]
    return [t.access_token for t in found if t is not None]


async def test_a_providers_deauthorization_removes_their_staff_too(rig: Rig) -> None:
    doctor = await rig.connect("doctor1")
    staff = [await rig.connect(name) for name in ("staff1", "manager1")]
    others = [await rig.connect("doctor2"), await rig.connect("staff3")]
    await register_iframe(rig.services, doctor.id)
    held = await _tokens(rig, doctor, *staff)
    done = await deauthorize(rig.services, doctor.id, actor="test", reason="offboarding")
    assert [c.username for c in done.removed] == ["doctor1", "staff1", "manager1"]
    assert (done.revoked, done.revoke_failed, done.iframe_removed) == (6, 0, True)
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


async def test_tokens_are_deleted_here_even_when_drchrono_is_unreachable(rig: Rig) -> None:
    doctor = await rig.connect("doctor1")
    rig.spy.down = True
    done = await deauthorize(rig.services, doctor.id, actor="test")
    assert (done.revoked, done.revoke_failed) == (0, 2)
    assert await Tokens(rig.services.db).get(doctor.id) is None
    assert (await _status(rig))["doctor1"] is ConnectionStatus.DEAUTHORIZED
    actions = [r.action for r in await AuditLog(rig.services.db).recent()]
    assert actions[:2] == ["connection.revoke_failed", "connection.deauthorize"]


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
