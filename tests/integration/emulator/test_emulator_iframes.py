"""The patient chart and clinical note pages embed registered apps with a signed JWT."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import jwt
import pytest

from chronobridge.emulator._config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from support.emulator_harness import Emulator, emulator

SRC = re.compile(r'<iframe class="app-iframe"[^>]* src="([^"]+)"')


async def register_iframe(emu: Emulator, user: str) -> None:
    answer = await emu.client.post(
        "/_emulator/oauth/token", json={"client_id": DEFAULT_CLIENT_ID, "user": user}
    )
    headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    assert (await emu.client.post("/api/iframe_integration", headers=headers)).status_code == 204


def first_id(emu: Emulator, resource: str) -> int:
    record, _ = next(emu.state.records.scan(resource))
    return int(record["id"])


def query_of(src: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(src.replace("&amp;", "&")).query).items()}


async def test_patient_chart_embeds_the_app_with_a_jwt_signed_by_the_client_secret() -> None:
    async with emulator() as emu:
        await register_iframe(emu, "doctor1")
        patient = first_id(emu, "patients")
        page = await emu.client.get(f"/iframes/patient/{patient}", params={"doctor": "doctor1"})
        assert page.status_code == 200
        [src] = SRC.findall(page.text)
        assert src.startswith("http://127.0.0.1:8600/iframe/patient?")
        query = query_of(src)
        claims = jwt.decode(query["jwt"], DEFAULT_CLIENT_SECRET, algorithms=["HS256"])
        doctor = emu.state.user_by_name("doctor1")
        assert doctor is not None
        assert claims == {
            "doctor_id": doctor.doctor,
            "patient_id": patient,
            "practice_id": doctor.practice_group,
            "iat": int(query["iat"]),
        }
        assert {k: str(v) for k, v in claims.items()} == {k: query[k] for k in claims}
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(query["jwt"], "x" * 40, algorithms=["HS256"])


async def test_clinical_note_page_adds_the_appointment() -> None:
    async with emulator() as emu:
        await register_iframe(emu, "doctor1")
        appointment = first_id(emu, "appointments")
        page = await emu.client.get(
            f"/iframes/clinical-note/{appointment}", params={"doctor": "doctor1", "format": "json"}
        )
        [frame] = page.json()["frames"]
        claims = jwt.decode(query_of(frame["src"])["jwt"], DEFAULT_CLIENT_SECRET, ["HS256"])
        assert claims["appointment_id"] == appointment
        assert frame["src"].startswith("http://127.0.0.1:8600/iframe/clinical-note?")


async def test_only_apps_registered_for_that_doctor_are_embedded() -> None:
    async with emulator() as emu:
        await register_iframe(emu, "doctor2")
        patient = first_id(emu, "patients")
        page = await emu.client.get(f"/iframes/patient/{patient}", params={"doctor": "doctor1"})
        assert SRC.findall(page.text) == []
        assert 'id="no-iframes"' in page.text
        missing = await emu.client.get("/iframes/patient/1", params={"doctor": "doctor1"})
        assert missing.status_code == 404
        elsewhere = await emu.client.get(
            f"/iframes/patient/{patient}", params={"doctor": "outsider1"}
        )
        assert elsewhere.status_code == 404
