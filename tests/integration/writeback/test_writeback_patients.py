"""Creating and updating patients through write-back, against the emulator and a real store
(SQLite and PostgreSQL): created once, found instead of duplicated, refused fields reported,
lost answers looked up before anything is sent again, updates sent once."""

from __future__ import annotations

from typing import Any

import pytest
from wb_support import NEW_PATIENT, LoseAnswers, Rig, count_rows, in_process, services_for

from chronobridge.domain.writeback import ModelChange, WriteAction
from chronobridge.errors import NeedsReconnect
from chronobridge.store import Database, ModelRows, NewWriteback, WritebackStatus
from chronobridge.store.tables import match_keys, pending_creates
from chronobridge.writeback import (
    ReviewQueue,
    WritebackResult,
    WritebackServices,
    encode_values,
    execute,
    model_values,
    submit,
)


async def create(
    rig: Rig, raw: dict[str, Any], *, services: WritebackServices | None = None, **options: Any
) -> WritebackResult:
    services = services or rig.services
    values = model_values(services.mapping, "patient", raw)
    change = ModelChange(model="patient", action=WriteAction.CREATE, values=values)
    return await submit(
        services, change, app_id=rig.app_id, connection_id=rig.connection_id, inline=True, **options
    )


async def update(rig: Rig, patient_id: str, raw: dict[str, Any]) -> WritebackResult:
    values = model_values(rig.services.mapping, "patient", raw)
    change = ModelChange(
        model="patient",
        action=WriteAction.UPDATE,
        values=values,
        external_id=patient_id,
        changed=frozenset(values),
    )
    return await submit(
        rig.services, change, app_id=rig.app_id, connection_id=rig.connection_id, inline=True
    )


async def seeded_patient(rig: Rig) -> dict[str, Any]:
    page = await rig.get("/api/patients", doctor="268001")
    found: dict[str, Any] = page["results"][0]
    return found


async def test_a_new_patient_is_created_once_and_stored_at_once(database: Database) -> None:
    async with in_process(database) as rig:
        first = await create(rig, NEW_PATIENT)
        assert first.status is WritebackStatus.DONE, first.message
        assert first.drchrono_id is not None
        assert not first.matched_existing
        assert first.message == f"Created patient {first.drchrono_id} in DrChrono."
        row = await ModelRows(database).get(
            app_id=rig.app_id, model="patient", external_id=first.drchrono_id
        )
        assert row is not None
        assert await count_rows(database, match_keys, model_row_id=row.id) > 0
        assert await count_rows(database, pending_creates, status="created") == 1
        again = await create(rig, NEW_PATIENT)
        assert (again.writeback_id, again.drchrono_id) == (first.writeback_id, first.drchrono_id)
        assert len(await rig.patients_named("Vantablack")) == 1


async def test_a_patient_already_in_drchrono_is_found_not_duplicated(database: Database) -> None:
    async with in_process(database) as rig:
        existing = await seeded_patient(rig)
        raw = {
            "first_name": existing["first_name"].upper(),  # normalized: case does not matter
            "last_name": f" {existing['last_name']} ",
            "date_of_birth": existing["date_of_birth"],
            "gender": "U",
            "provider_id": "268001",
        }
        await rig.http.post("/_emulator/stats/reset")
        result = await create(rig, raw)
        assert result.status is WritebackStatus.DONE, result.message
        assert (result.drchrono_id, result.matched_existing) == (str(existing["id"]), True)
        assert "already exists in DrChrono (rules: name_dob)" in result.message
        assert "201" not in (await rig.stats())["per_status"]  # nothing was created


async def test_a_possible_match_waits_for_a_person_then_is_created(database: Database) -> None:
    async with in_process(database) as rig:
        existing = await seeded_patient(rig)
        newcomer = existing["first_name"][0] + "ebediahx"  # same initial, another name
        raw = {
            "first_name": newcomer,  # rule last_dob_initial: a possible match, not an exact one
            "last_name": existing["last_name"],
            "date_of_birth": existing["date_of_birth"],
            "gender": "U",
            "provider_id": "268001",
        }
        held = await create(rig, raw)
        assert held.status is WritebackStatus.REVIEW, held.message
        assert held.review_id is not None
        assert held.exit_code == 3
        assert f"Review it: chronobridge matches show {held.review_id}" in held.message
        assert newcomer not in [
            p["first_name"] for p in await rig.patients_named(existing["last_name"])
        ]
        queue = ReviewQueue(rig.services)
        review, created = await queue.dismiss(
            held.review_id, actor="test", create=True, connection_id=rig.connection_id
        )
        assert review.status.value == "dismissed"
        assert created is not None
        assert created.status is WritebackStatus.DONE, created.message
        assert created.writeback_id == held.writeback_id
        found = [
            p
            for p in await rig.patients_named(existing["last_name"])
            if p["first_name"] == newcomer
        ]
        assert [str(p["id"]) for p in found] == [created.drchrono_id]


async def test_fields_drchrono_refuses_are_reported_by_name_not_retried(database: Database) -> None:
    async with in_process(database) as rig:
        await rig.http.post("/_emulator/stats/reset")
        result = await create(rig, {**NEW_PATIENT, "provider_id": "99999999"})
        assert result.status is WritebackStatus.REJECTED
        assert result.error_fields == ("provider_id",)
        assert result.message.startswith("DrChrono rejected patient.provider_id; nothing changed.")
        assert (await rig.stats())["per_status"].get("400") == 1
        assert await rig.patients_named("Vantablack") == []


async def test_a_lost_answer_is_looked_up_before_sending_again(database: Database) -> None:
    """DrChrono created the patient, the answer never came back: the retry finds it."""
    async with in_process(database) as rig:
        assert rig.transport is not None
        lossy = LoseAnswers(rig.transport, method="POST", path="/api/patients")
        services = rig.services_via(lossy)
        first = await create(rig, NEW_PATIENT, services=services)
        assert first.status is WritebackStatus.QUEUED, first.message
        assert (
            first.message == "DrChrono did not answer; the change is queued and will be sent again."
        )
        assert len(await rig.patients_named("Vantablack")) == 1  # DrChrono did create it
        retried = await execute(services, first.writeback_id)
        assert retried.stored.status is WritebackStatus.DONE
        assert retried.stored.matched_existing
        created = await rig.patients_named("Vantablack")
        assert [str(p["id"]) for p in created] == [retried.stored.drchrono_id]


async def test_an_update_is_sent_once_and_a_later_change_back_is_sent(database: Database) -> None:
    async with in_process(database) as rig:
        patient = str((await seeded_patient(rig))["id"])
        path = "/api/patients/{id}"
        first = await update(rig, patient, {"email": "first@example.test"})
        assert first.status is WritebackStatus.DONE, first.message
        assert first.message == f"Updated patient {patient} in DrChrono."
        sent = (await rig.stats())["per_path"][path]
        again = await update(rig, patient, {"email": "first@example.test"})
        assert again.writeback_id == first.writeback_id
        assert (await rig.stats())["per_path"][path] == sent  # no second PATCH
        await update(rig, patient, {"email": "second@example.test"})
        back = await update(rig, patient, {"email": "first@example.test"})
        assert back.writeback_id != first.writeback_id
        assert back.ok
        assert (await rig.get(f"/api/patients/{patient}"))["email"] == "first@example.test"


async def test_a_refused_token_asks_for_a_reconnect(database: Database) -> None:
    """Before recording (planning reads the doctors) and when a queued change is sent."""
    async with in_process(database) as rig:
        refused = services_for(
            rig.db, token="not-a-token", base_url=rig.base_url, transport=rig.transport
        )
        with pytest.raises(NeedsReconnect):
            await create(rig, NEW_PATIENT, services=refused)
        queued, _ = await rig.services.outbox.record(
            NewWriteback(
                app_id=rig.app_id,
                connection_id=rig.connection_id,
                model="patient",
                action="create",
                external_id=None,
                payload=encode_values(model_values(rig.services.mapping, "patient", NEW_PATIENT)),
                changed=None,
                idempotency_key="k" * 32,
                priority="interactive",
            )
        )
        attempt = await execute(refused, queued.id)
        assert attempt.stored.status is WritebackStatus.FAILED
        assert not attempt.again
        assert attempt.stored.error_class == "NeedsReconnect"
        assert "authorized again (chronobridge connect)" in (attempt.stored.message or "")
