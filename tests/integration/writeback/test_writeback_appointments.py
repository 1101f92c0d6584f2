"""Booking and rescheduling appointments through write-back: overlaps reported and not
retried, a lost booking answer looked up instead of booking twice, reschedules sent once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from wb_support import LoseAnswers, Rig, in_process

from chronobridge.domain.budget import Priority
from chronobridge.domain.writeback import ModelChange, WriteAction
from chronobridge.store import Database, ModelRows, WritebackStatus
from chronobridge.writeback import (
    WritebackResult,
    WritebackServices,
    execute,
    model_values,
    reschedule_change,
    submit,
)

START = datetime(2031, 1, 6, 20, 0, tzinfo=UTC)
APPOINTMENTS = "/api/appointments"


async def seeded_visit(rig: Rig) -> dict[str, Any]:
    page = await rig.get(APPOINTMENTS, since="2000-01-01", doctor="268001")
    visits = [a for a in page["results"] if a.get("patient") and not a.get("appt_is_break")]
    return visits[0]


def visit_values(visit: dict[str, Any], start: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "patient_id": str(visit["patient"]),
        "provider_id": "268001",
        "location_id": str(visit["office"]),
        "exam_room": visit["exam_room"],
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(minutes=30)).isoformat(),
        **extra,
    }


async def book(
    rig: Rig, raw: dict[str, Any], services: WritebackServices | None = None
) -> WritebackResult:
    services = services or rig.services
    values = model_values(services.mapping, "appointment", raw)
    change = ModelChange(model="appointment", action=WriteAction.CREATE, values=values)
    return await submit(
        services, change, app_id=rig.app_id, connection_id=rig.connection_id, inline=True
    )


async def reschedule(rig: Rig, appointment: str, start: datetime) -> WritebackResult:
    services = rig.services
    async with services.clients(rig.connection_id, Priority.INTERACTIVE) as client:
        context = await services.contexts(rig.app_id, client)
        change = await reschedule_change(
            client,
            mapping=services.mapping,
            context=context,
            appointment_id=appointment,
            start=start,
        )
    return await submit(
        services, change, app_id=rig.app_id, connection_id=rig.connection_id, inline=True
    )


async def test_a_booking_is_made_once_and_stored(database: Database) -> None:
    async with in_process(database) as rig:
        visit = await seeded_visit(rig)
        booked = await book(rig, visit_values(visit, START, reason="Follow-up"))
        assert booked.status is WritebackStatus.DONE, booked.message
        assert booked.message == f"Booked appointment {booked.drchrono_id} in DrChrono."
        row = await ModelRows(database).get(
            app_id=rig.app_id, model="appointment", external_id=str(booked.drchrono_id)
        )
        assert row is not None
        assert row.values["start_time"] == START.isoformat()
        again = await book(rig, visit_values(visit, START, reason="Follow-up"))
        assert (again.writeback_id, again.drchrono_id) == (booked.writeback_id, booked.drchrono_id)


async def test_an_overlap_is_reported_to_the_caller_and_not_retried(database: Database) -> None:
    async with in_process(database) as rig:
        visit = await seeded_visit(rig)
        assert (await book(rig, visit_values(visit, START, reason="First"))).ok
        await rig.http.post("/_emulator/stats/reset")
        clash = await book(rig, visit_values(visit, START + timedelta(minutes=15), reason="Second"))
        assert clash.status is WritebackStatus.CONFLICT
        assert clash.exit_code == 5
        assert clash.message == (
            "DrChrono refused: the time overlaps another appointment in that exam room; "
            "nothing was booked. Pick another time or room."
        )
        stats = await rig.stats()
        assert stats["per_status"] == {"409": 1}  # one POST, no retry
        assert stats["per_path"][APPOINTMENTS] == 1


async def test_a_reschedule_is_sent_once_and_an_overlap_is_refused(database: Database) -> None:
    async with in_process(database) as rig:
        visit = await seeded_visit(rig)
        first = await book(rig, visit_values(visit, START, reason="One"))
        second = await book(rig, visit_values(visit, START + timedelta(hours=2), reason="Two"))
        assert first.ok
        assert second.ok
        moved = await reschedule(rig, str(first.drchrono_id), START - timedelta(hours=1))
        assert moved.status is WritebackStatus.DONE, moved.message
        assert moved.message == f"Updated appointment {first.drchrono_id} in DrChrono."
        sent = (await rig.stats())["per_path"]["/api/appointments/{id}"]
        again = await reschedule(rig, str(first.drchrono_id), START - timedelta(hours=1))
        assert again.writeback_id == moved.writeback_id
        # Only the GET that reads the current values: no second PATCH.
        assert (await rig.stats())["per_path"]["/api/appointments/{id}"] == sent + 1
        clash = await reschedule(rig, str(first.drchrono_id), START + timedelta(hours=2))
        assert clash.status is WritebackStatus.CONFLICT
        assert "nothing was moved" in clash.message


async def test_a_lost_booking_answer_is_found_not_booked_twice(database: Database) -> None:
    async with in_process(database) as rig:
        visit = await seeded_visit(rig)
        assert rig.transport is not None
        services = rig.services_via(LoseAnswers(rig.transport, method="POST", path=APPOINTMENTS))
        lost = await book(rig, visit_values(visit, START, reason="Lost"), services)
        assert lost.status is WritebackStatus.QUEUED
        retried = await execute(services, lost.writeback_id)
        assert retried.stored.status is WritebackStatus.DONE
        assert retried.stored.matched_existing
        day = await rig.get(APPOINTMENTS, date=START.date().isoformat(), doctor="268001")
        same = [a for a in day["results"] if a.get("reason") == "Lost"]
        assert [a["id"] for a in same] == [retried.stored.drchrono_id]


async def test_a_server_error_is_retried_and_books_once(database: Database) -> None:
    async with in_process(database) as rig:
        visit = await seeded_visit(rig)
        await rig.fault(kind="error", status=502, path=APPOINTMENTS, count=1)
        failed = await book(rig, visit_values(visit, START, reason="Retried"))
        assert failed.status is WritebackStatus.QUEUED
        assert (
            failed.message == "DrChrono answered 502; the change is queued and will be sent again."
        )
        retried = await execute(rig.services, failed.writeback_id)
        assert retried.stored.status is WritebackStatus.DONE
        assert not retried.stored.matched_existing
        day = await rig.get(APPOINTMENTS, date=START.date().isoformat(), doctor="268001")
        assert [a["reason"] for a in day["results"]].count("Retried") == 1
