"""PRIVATE applications and DrChrono's App Directory (deauthorization semantics)."""

from __future__ import annotations

from typing import Any

import httpx2

from chronobridge.emulator import EmulatorConfig
from chronobridge.emulator._config import DEFAULT_CLIENT_ID
from support.emulator_harness import Emulator, authorize, code_from, consent, emulator


async def deauthorize(client: httpx2.AsyncClient, user: str, acting: str) -> httpx2.Response:
    body = {"client_id": DEFAULT_CLIENT_ID, "user": user, "acting_user": acting}
    return await client.post("/_emulator/app-directory/deauthorize", json=body)


async def connect(emu: Emulator, *names: str) -> dict[str, dict[str, Any]]:
    return {name: await authorize(emu.client, username=name) for name in names}


def alive(emu: Emulator, token: dict[str, Any]) -> bool:
    return emu.state.valid_token(token["access_token"]) is not None


def doctor_id(emu: Emulator, username: str) -> int:
    user = emu.state.user_by_name(username)
    assert user is not None
    return user.doctor


async def test_private_app_refuses_users_of_another_practice() -> None:
    async with emulator(EmulatorConfig(patients=3, appointments=3, private=True)) as emu:
        refused = await consent(emu.client, username="outsider1")
        assert refused.status_code == 403
        assert "location" not in refused.headers
        assert "code" in code_from(await consent(emu.client, username="doctor2"))


async def test_public_app_lets_any_practice_authorize() -> None:
    async with emulator() as emu:
        assert "code" in code_from(await consent(emu.client, username="outsider1"))


async def test_provider_deauthorization_removes_the_app_for_their_staff_too() -> None:
    async with emulator() as emu:
        tokens = await connect(emu, "doctor1", "staff1", "staff2", "staff3", "doctor2")
        emu.state.iframes.add((DEFAULT_CLIENT_ID, doctor_id(emu, "doctor1")))
        answer = await deauthorize(emu.client, "doctor1", "doctor1")
        assert answer.status_code == 200
        assert set(answer.json()["users"]) == {"doctor1", "staff1", "staff2", "manager1"}
        assert answer.json()["iframe_removed"] is True
        assert not any(alive(emu, tokens[n]) for n in ("doctor1", "staff1", "staff2"))
        assert alive(emu, tokens["staff3"])
        assert alive(emu, tokens["doctor2"])


async def test_staff_deauthorization_is_their_own_plus_the_groups_iframe() -> None:
    async with emulator() as emu:
        tokens = await connect(emu, "doctor1", "staff1", "staff2")
        emu.state.iframes.add((DEFAULT_CLIENT_ID, doctor_id(emu, "doctor1")))
        answer = await deauthorize(emu.client, "staff1", "staff1")
        assert answer.json()["users"] == ["staff1"]
        assert not alive(emu, tokens["staff1"])
        assert alive(emu, tokens["doctor1"])
        assert alive(emu, tokens["staff2"])
        assert (DEFAULT_CLIENT_ID, doctor_id(emu, "doctor1")) not in emu.state.iframes


async def test_only_an_app_directory_manager_may_act_for_someone_else() -> None:
    async with emulator() as emu:
        tokens = await connect(emu, "staff1", "staff2")
        refused = await deauthorize(emu.client, "staff2", "staff1")
        assert refused.status_code == 403
        assert alive(emu, tokens["staff2"])
        outsider = await deauthorize(emu.client, "staff2", "outsider1")
        assert outsider.status_code == 403
        managed = await deauthorize(emu.client, "staff2", "manager1")
        assert managed.status_code == 200
        assert not alive(emu, tokens["staff2"])
        assert alive(emu, tokens["staff1"])


async def test_deauthorized_token_is_refused_by_the_api() -> None:
    async with emulator() as emu:
        token = (await connect(emu, "staff1"))["staff1"]
        await deauthorize(emu.client, "staff1", "manager1")
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        answer = await emu.client.get("/api/users/current", headers=headers)
        assert answer.status_code == 401
        assert answer.text == "Authorization failed."


async def test_directory_page_lists_what_the_acting_user_may_see_and_deauthorizes() -> None:
    async with emulator() as emu:
        await connect(emu, "doctor1", "staff1", "staff2")
        mine = await emu.client.get("/app-directory/", params={"user": "staff1"})
        assert mine.status_code == 200
        assert mine.text.count('name="user" value="') == 1
        practice = await emu.client.get("/app-directory/", params={"user": "manager1"})
        assert practice.text.count('name="user" value="') == 3
        form = {"client_id": DEFAULT_CLIENT_ID, "user": "staff2", "acting_user": "manager1"}
        done = await emu.client.post("/app-directory/deauthorize", data=form)
        assert done.status_code == 303
        listing = await emu.client.get("/_emulator/app-directory", params={"user": "manager1"})
        users = {row["user"] for row in listing.json()["authorizations"]}
        assert users == {"doctor1", "staff1"}
        refused = await emu.client.post(
            "/app-directory/deauthorize", data={**form, "acting_user": "staff1"}
        )
        assert refused.status_code == 403
