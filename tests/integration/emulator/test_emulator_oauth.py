"""The emulator's OAuth server: consent, codes, rotation with reuse detection, revocation."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import httpx2
import pytest

from chronobridge.catalog import SCOPES
from chronobridge.emulator import EmulatorConfig
from chronobridge.emulator._config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REDIRECT_URI,
)
from support.emulator_harness import authorize, code_from, consent, emulator, exchange

SECRET = DEFAULT_CLIENT_SECRET


async def refresh(client: httpx2.AsyncClient, token: str, **extra: str) -> httpx2.Response:
    data = {
        "grant_type": "refresh_token",
        "refresh_token": token,
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": SECRET,
        **extra,
    }
    return await client.post("/o/token/", data=data)


def bearer(token: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['access_token']}"}


def valid(emu_state: object, token: dict[str, str]) -> bool:
    return emu_state.valid_token(token["access_token"]) is not None  # type: ignore[attr-defined]


async def test_consent_page_shows_the_app_and_every_scope_when_none_is_asked() -> None:
    async with emulator() as emu:
        page = await emu.client.get(
            "/o/authorize/",
            params={
                "client_id": DEFAULT_CLIENT_ID,
                "redirect_uri": DEFAULT_REDIRECT_URI,
                "response_type": "code",
            },
        )
        assert page.status_code == 200
        assert "chronobridge demo" in page.text
        assert 'name="username"' in page.text
        assert all(scope in page.text for scope in SCOPES)


async def test_approve_gives_a_code_and_state_and_the_token_answer_is_drchronos() -> None:
    async with emulator() as emu:
        back = code_from(await consent(emu.client, scope="patients:read user:read"))
        assert back["state"] == "st4te"
        answer = await exchange(emu.client, back["code"])
        assert answer.status_code == 200
        body = answer.json()
        assert set(body) == {"access_token", "refresh_token", "expires_in", "token_type", "scope"}
        assert body["expires_in"] == 172800
        assert body["token_type"] == "Bearer"
        assert set(body["scope"].split()) == {"patients:read", "user:read"}
        assert answer.headers["cache-control"] == "no-store"


async def test_deny_redirects_with_access_denied() -> None:
    async with emulator() as emu:
        back = code_from(await consent(emu.client, allow="Cancel"))
        assert back == {"error": "access_denied", "state": "st4te"}


@pytest.mark.parametrize(
    ("client_id", "redirect_uri"),
    [
        ("nobody", DEFAULT_REDIRECT_URI),
        (DEFAULT_CLIENT_ID, "http://127.0.0.1:8600/oauth/callback/"),  # one character off
        (DEFAULT_CLIENT_ID, "https://evil.example/cb"),
        (DEFAULT_CLIENT_ID, ""),
    ],
)
async def test_unknown_client_or_unregistered_redirect_is_a_page_never_a_redirect(
    client_id: str, redirect_uri: str
) -> None:
    async with emulator() as emu:
        params = {"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code"}
        page = await emu.client.get("/o/authorize/", params=params)
        assert page.status_code == 400
        assert "location" not in page.headers


async def test_bad_scope_and_response_type_go_back_as_errors() -> None:
    async with emulator() as emu:
        base = {"client_id": DEFAULT_CLIENT_ID, "redirect_uri": DEFAULT_REDIRECT_URI}
        bad_scope = await emu.client.get(
            "/o/authorize/", params={**base, "response_type": "code", "scope": "root:all"}
        )
        assert code_from(bad_scope)["error"] == "invalid_scope"
        implicit = await emu.client.get("/o/authorize/", params={**base, "response_type": "token"})
        assert code_from(implicit)["error"] == "unsupported_response_type"


async def test_auto_approve_redirects_at_once_as_the_configured_user() -> None:
    config = EmulatorConfig(patients=3, appointments=3, auto_approve="staff1")
    async with emulator(config) as emu:
        params = {
            "client_id": DEFAULT_CLIENT_ID,
            "redirect_uri": DEFAULT_REDIRECT_URI,
            "response_type": "code",
            "state": "xyz",
        }
        back = code_from(await emu.client.get("/o/authorize/", params=params))
        token = (await exchange(emu.client, back["code"])).json()
        user = emu.state.users[emu.state.tokens[token["access_token"]].user_id]
        assert user.username == "staff1"


async def test_a_code_is_single_use_and_its_reuse_revokes_what_it_gave() -> None:
    async with emulator() as emu:
        code = code_from(await consent(emu.client))["code"]
        first = await exchange(emu.client, code)
        assert first.status_code == 200
        again = await exchange(emu.client, code)
        assert again.status_code == 400
        assert again.json()["error"] == "invalid_grant"
        assert not valid(emu.state, first.json())


async def test_a_code_expires_after_sixty_seconds_on_the_emulator_clock() -> None:
    async with emulator() as emu:
        code = code_from(await consent(emu.client))["code"]
        emu.state.clock.advance(timedelta(seconds=61))
        late = await exchange(emu.client, code)
        assert (late.status_code, late.json()["error"]) == (400, "invalid_grant")


async def test_a_code_is_bound_to_its_redirect_uri_and_its_client() -> None:
    async with emulator() as emu:
        await emu.client.put(
            "/_emulator/apps/other-app",
            json={"client_secret": "other-secret", "redirect_uris": [DEFAULT_REDIRECT_URI]},
        )
        code = code_from(await consent(emu.client))["code"]
        mismatch = await exchange(emu.client, code, redirect_uri="http://127.0.0.1:8600/other")
        assert mismatch.json()["error"] == "invalid_grant"
        stolen = await exchange(
            emu.client, code, client_id="other-app", client_secret="other-secret"
        )
        assert stolen.json()["error"] == "invalid_grant"
        assert (await exchange(emu.client, code)).status_code == 200


async def test_client_authentication_by_body_or_basic_and_errors() -> None:
    async with emulator() as emu:
        code = code_from(await consent(emu.client))["code"]
        wrong = await exchange(emu.client, code, client_secret="nope")
        assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
        basic = base64.b64encode(f"{DEFAULT_CLIENT_ID}:{SECRET}".encode()).decode()
        data = {"grant_type": "authorization_code", "code": code}
        data["redirect_uri"] = DEFAULT_REDIRECT_URI
        ok = await emu.client.post(
            "/o/token/", data=data, headers={"Authorization": f"Basic {basic}"}
        )
        assert ok.status_code == 200
        creds = {"client_id": DEFAULT_CLIENT_ID, "client_secret": SECRET}
        odd = await emu.client.post("/o/token/", data={**creds, "grant_type": "password"})
        assert odd.json()["error"] == "unsupported_grant_type"
        bare = await emu.client.post("/o/token/", data=creds)
        assert (bare.status_code, bare.json()["error"]) == (400, "invalid_request")


async def test_refresh_rotates_and_revokes_the_old_pair() -> None:
    async with emulator() as emu:
        first = await authorize(emu.client)
        answer = await refresh(emu.client, first["refresh_token"])
        assert answer.status_code == 200
        second = answer.json()
        assert second["refresh_token"] != first["refresh_token"]
        assert not valid(emu.state, first)
        assert valid(emu.state, second)
        third = (await refresh(emu.client, second["refresh_token"])).json()
        assert valid(emu.state, third)


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_family() -> None:
    async with emulator() as emu:
        first = await authorize(emu.client)
        second = (await refresh(emu.client, first["refresh_token"])).json()
        reuse = await refresh(emu.client, first["refresh_token"])
        assert (reuse.status_code, reuse.json()["error"]) == (400, "invalid_grant")
        assert not valid(emu.state, second)
        dead = await refresh(emu.client, second["refresh_token"])
        assert dead.json()["error"] == "invalid_grant"


async def test_refresh_may_narrow_but_never_widen_scopes() -> None:
    async with emulator() as emu:
        first = await authorize(emu.client, scope="patients:read user:read")
        narrowed = (await refresh(emu.client, first["refresh_token"], scope="user:read")).json()
        assert narrowed["scope"] == "user:read"
        wider = await refresh(emu.client, narrowed["refresh_token"], scope="patients:read")
        assert wider.json()["error"] == "invalid_scope"


async def test_authorizing_again_invalidates_the_users_earlier_tokens_only() -> None:
    async with emulator() as emu:
        doctor = await authorize(emu.client, username="doctor1")
        staff = await authorize(emu.client, username="staff1")
        again = await authorize(emu.client, username="doctor1")
        assert not valid(emu.state, doctor)
        assert valid(emu.state, again)
        assert valid(emu.state, staff)
        stale = await refresh(emu.client, doctor["refresh_token"])
        assert stale.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
async def test_revoke_token_revokes_the_pair_and_answers_200(which: str) -> None:
    async with emulator() as emu:
        token = await authorize(emu.client)
        creds = {"client_id": DEFAULT_CLIENT_ID, "client_secret": SECRET}
        answer = await emu.client.post(
            "/o/revoke_token/", data={**creds, "token": token[which], "token_type_hint": which}
        )
        assert answer.status_code == 200
        assert not valid(emu.state, token)
        unknown = await emu.client.post("/o/revoke_token/", data={**creds, "token": "nope"})
        assert unknown.status_code == 200
        anonymous = await emu.client.post("/o/revoke_token/", data={"token": "x"})
        assert anonymous.status_code == 401


async def test_pkce_is_enforced_when_the_client_sends_a_challenge() -> None:
    async with emulator() as emu:
        verifier = "v" * 50
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        params = {
            "client_id": DEFAULT_CLIENT_ID,
            "redirect_uri": DEFAULT_REDIRECT_URI,
            "response_type": "code",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        await emu.client.get("/o/authorize/", params=params)
        form = {**params, "username": "doctor1", "allow": "Authorize"}
        code = code_from(await emu.client.post("/o/authorize/", data=form))["code"]
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": DEFAULT_REDIRECT_URI,
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": SECRET,
        }
        wrong = await emu.client.post("/o/token/", data={**data, "code_verifier": "w" * 50})
        assert wrong.json()["error"] == "invalid_grant"
        right = await emu.client.post("/o/token/", data={**data, "code_verifier": verifier})
        assert right.status_code == 200


async def test_control_token_shortcut_and_runtime_auto_approve() -> None:
    async with emulator() as emu:
        made = await emu.client.post(
            "/_emulator/oauth/token", json={"client_id": DEFAULT_CLIENT_ID, "user": "doctor2"}
        )
        assert made.status_code == 200
        assert valid(emu.state, made.json())
        switched = await emu.client.put("/_emulator/oauth/auto-approve", json={"user": "doctor3"})
        assert switched.json() == {"auto_approve": "doctor3"}
        params = {
            "client_id": DEFAULT_CLIENT_ID,
            "redirect_uri": DEFAULT_REDIRECT_URI,
            "response_type": "code",
        }
        assert "code" in code_from(await emu.client.get("/o/authorize/", params=params))


async def test_granted_scopes_are_enforced_by_the_api() -> None:
    async with emulator() as emu:
        narrow = await authorize(emu.client, scope="user:read")
        me = await emu.client.get("/api/users/current", headers=bearer(narrow))
        assert me.status_code == 302
        patients = await emu.client.get("/api/patients", headers=bearer(narrow))
        assert patients.status_code == 403
        wide = await authorize(emu.client, username="doctor2", scope="patients:read")
        assert (await emu.client.get("/api/patients", headers=bearer(wide))).status_code == 200
        write = await emu.client.post("/api/patients", headers=bearer(wide), json={})
        assert write.status_code == 403
