"""The authorization-code flow against the emulator: identity, one connection per user, state
and code checked once, reconnect replaces the tokens, every connect audited."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from connections_rig import Rig

from chronobridge.catalog import SCOPES
from chronobridge.connections import (
    Callback,
    TokenEndpoint,
    complete_authorization,
    probe_authorization,
    start_authorization,
)
from chronobridge.errors import AccessDenied, InvalidGrant, StateMismatch
from chronobridge.store import AuditLog, Connections, Role, Tokens


async def test_a_doctor_and_a_staff_member_connect_separately(rig: Rig) -> None:
    doctor = await rig.connect("doctor1")
    staff = await rig.connect("staff1")
    assert (doctor.username, doctor.role) == ("doctor1", Role.DOCTOR)
    assert (staff.username, staff.role) == ("staff1", Role.STAFF)
    assert staff.doctor_id == doctor.doctor_id  # staff act for their provider
    assert doctor.practice_group == staff.practice_group == 5471
    assert set(doctor.scopes) == set(SCOPES)
    rows = await Connections(rig.services.db).list(app_id=rig.app.id)
    assert [c.username for c in rows] == ["doctor1", "staff1"]


async def test_the_authorize_url_carries_state_pkce_and_an_explicit_scope(rig: Rig) -> None:
    start = await start_authorization(rig.services, rig.app, scopes=("patients:read",))
    query = {k: v[0] for k, v in parse_qs(urlsplit(start.url).query).items()}
    assert query["scope"] == "user:read patients:read"
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == start.request.code_challenge
    assert query["state"] == start.request.state
    assert start.request.code_verifier not in start.url
    connection = await complete_authorization(
        rig.services,
        (await probe_authorization(rig.services, start)).callback or Callback(state=""),
    )
    assert connection.scopes == ("user:read", "patients:read")


async def test_a_callback_with_an_unknown_or_used_state_sends_no_token_request(rig: Rig) -> None:
    start = await start_authorization(rig.services, rig.app)
    callback = (await probe_authorization(rig.services, start)).callback
    assert callback is not None
    with pytest.raises(StateMismatch):
        await complete_authorization(rig.services, Callback(state="forged", code=callback.code))
    assert rig.spy.count("/o/token/") == 0
    await complete_authorization(rig.services, callback)
    with pytest.raises(StateMismatch):
        await complete_authorization(rig.services, callback)  # the same callback replayed
    assert rig.spy.count("/o/token/") == 1


async def test_a_code_exchanged_twice_is_refused(rig: Rig) -> None:
    start = await start_authorization(rig.services, rig.app)
    callback = (await probe_authorization(rig.services, start)).callback
    assert callback is not None
    assert callback.code is not None
    await complete_authorization(rig.services, callback)
    with pytest.raises(InvalidGrant, match="expired or was already used"):
        await TokenEndpoint(rig.services, rig.app).exchange(
            callback.code,
            redirect_uri=start.redirect_uri,
            code_verifier=start.request.code_verifier,
            observer=None,
        )


async def test_denied_consent_is_access_denied(rig: Rig) -> None:
    await rig.emulator("PUT", "/_emulator/oauth/auto-approve", {"user": None})
    start = await start_authorization(rig.services, rig.app)
    assert (await probe_authorization(rig.services, start)).callback is None  # consent page
    form = {**{k: v[0] for k, v in parse_qs(urlsplit(start.url).query).items()}}
    denied = await rig.control.post("/o/authorize/", data={**form, "allow": "Cancel"})
    with pytest.raises(AccessDenied):
        await complete_authorization(rig.services, Callback.from_url(denied.headers["location"]))
    assert await Connections(rig.services.db).list() == []


async def test_reconnecting_replaces_the_tokens_in_the_same_row(rig: Rig) -> None:
    first = await rig.connect("doctor1")
    before = await Tokens(rig.services.db).get(first.id)
    again = await rig.connect("doctor1")
    after = await Tokens(rig.services.db).get(first.id)
    assert again.id == first.id
    assert before is not None
    assert after is not None
    assert after.generation == before.generation + 1
    assert after.access_token != before.access_token
    assert len(await Connections(rig.services.db).list()) == 1


async def test_every_connect_is_audited_and_the_chain_holds(rig: Rig) -> None:
    await rig.connect("doctor1")
    await rig.connect("staff2")
    audit = AuditLog(rig.services.db)
    actions = [r.action for r in await audit.recent()]
    assert actions == ["connection.connect", "connection.connect"]
    assert (await audit.verify()).ok
