"""OAuth states (OA-1, OA-2): unguessable, stored hashed, single use, 10 minutes, bound to the
browser session that started the flow; the PKCE verifier is encrypted."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from chronobridge.errors import StateMismatch
from chronobridge.store import (
    STATE_TTL,
    Apps,
    AppSpec,
    AuthorizationRequest,
    Database,
    OAuthStates,
)
from chronobridge.store.tables import oauth_states

NOW = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)
CALLBACK = "http://127.0.0.1:8600/oauth/callback"


async def app_id(db: Database) -> int:
    spec = AppSpec(name="a", client_id="c", client_secret="s", redirect_uris=(CALLBACK,))
    return (await Apps(db).create(spec, now=NOW)).id


async def test_a_state_works_once(database: Database) -> None:
    states = OAuthStates(database)
    started = await states.create(await app_id(database), redirect_uri=CALLBACK, now=NOW)
    verified = await states.consume(started.state, now=NOW + timedelta(minutes=1))
    assert verified.code_verifier == started.code_verifier
    assert (verified.app_id, verified.redirect_uri) == (started.app_id, CALLBACK)
    with pytest.raises(StateMismatch):
        await states.consume(started.state, now=NOW + timedelta(minutes=2))


async def test_two_callbacks_racing_with_one_state_let_only_one_through(database: Database) -> None:
    states = OAuthStates(database)
    started = await states.create(await app_id(database), redirect_uri=CALLBACK, now=NOW)
    outcomes = await asyncio.gather(
        *(states.consume(started.state, now=NOW) for _ in range(5)), return_exceptions=True
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert sum(isinstance(o, StateMismatch) for o in outcomes) == 4


async def test_a_state_expires_after_ten_minutes(database: Database) -> None:
    states = OAuthStates(database)
    started = await states.create(await app_id(database), redirect_uri=CALLBACK, now=NOW)
    assert started.expires_at == NOW + STATE_TTL == NOW + timedelta(minutes=10)
    with pytest.raises(StateMismatch):
        await states.consume(started.state, now=NOW + STATE_TTL)


async def test_unknown_states_are_refused(database: Database) -> None:
    with pytest.raises(StateMismatch):
        await OAuthStates(database).consume("made-up", now=NOW)


async def test_a_state_is_bound_to_its_browser_session(database: Database) -> None:
    states = OAuthStates(database)
    app = await app_id(database)
    started = await states.create(app, redirect_uri=CALLBACK, session_key="session-A", now=NOW)
    with pytest.raises(StateMismatch):
        await states.consume(started.state, session_key="session-B", now=NOW)
    with pytest.raises(StateMismatch):  # the failed attempt used it up
        await states.consume(started.state, session_key="session-A", now=NOW)
    other = await states.create(app, redirect_uri=CALLBACK, session_key="session-A", now=NOW)
    with pytest.raises(StateMismatch):
        await states.consume(other.state, now=NOW)
    fine = await states.create(app, redirect_uri=CALLBACK, session_key="session-A", now=NOW)
    assert (await states.consume(fine.state, session_key="session-A", now=NOW)).app_id == app


async def test_state_and_verifier_are_strong_and_never_stored_in_clear(database: Database) -> None:
    states = OAuthStates(database)
    started = await states.create(await app_id(database), redirect_uri=CALLBACK, now=NOW)
    assert len(base64.urlsafe_b64decode(started.state + "=")) >= 16  # ≥ 128 bits
    assert 43 <= len(started.code_verifier) <= 128
    digest = hashlib.sha256(started.code_verifier.encode()).digest()
    assert started.code_challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert started.state not in repr(started)
    async with database.read() as tx:
        row = (await tx.execute(sa.select(oauth_states))).one()
    assert row.state_hash == hashlib.sha256(started.state.encode()).hexdigest()
    assert started.code_verifier not in row.code_verifier


def test_the_code_challenge_matches_rfc_7636_appendix_b() -> None:
    request = AuthorizationRequest(
        app_id=1,
        state="s",
        code_verifier="dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        redirect_uri=CALLBACK,
        expires_at=NOW,
    )
    assert request.code_challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


async def test_purge_removes_old_states(database: Database) -> None:
    states = OAuthStates(database)
    app = await app_id(database)
    await states.create(app, redirect_uri=CALLBACK, now=NOW - timedelta(days=2))
    used = await states.create(app, redirect_uri=CALLBACK, now=NOW - timedelta(days=2))
    await states.consume(used.state, now=NOW - timedelta(days=2))
    fresh = await states.create(app, redirect_uri=CALLBACK, now=NOW)
    assert await states.purge(now=NOW) == 2
    assert (await states.consume(fresh.state, now=NOW)).app_id == app
