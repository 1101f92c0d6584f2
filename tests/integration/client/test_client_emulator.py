"""The client against the DrChrono emulator in process: the wire protocol, end to end."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from client_emulated import Emulated

from chronobridge.client import DrChronoClient, MemoryTokenSource
from chronobridge.errors import (
    Conflict,
    MethodNotAllowed,
    NeedsReconnect,
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)

FAR_FUTURE = "2031-01-06T06:10:00"  # no seeded appointment is there


async def test_every_patient_through_next_links_exactly_once(
    make_emulator: Callable[..., Emulated],
) -> None:
    emulator = make_emulator(patients=1234)
    async with emulator.client() as client:
        ids = [p["id"] async for p in client.patients.list()]
        batch = [p async for p in client.patients.batch_pages()]
    assert len(ids) == len(set(ids)) > 1000
    assert sorted(ids) == sorted(p["id"] for page in batch for p in page.results)
    lists = [c for c in emulator.observer.calls if c.path == "/api/patients"]
    assert len(lists) == math.ceil(len(ids) / 250)
    assert all(c.status == 200 for c in lists)


async def test_pages_resume_from_a_stored_cursor(client: DrChronoClient) -> None:
    pages = client.patients.pages(page_size=100)
    first = await anext(pages)
    await pages.aclose()
    assert first.next is not None
    rest = [p async for p in client.patients.pages(resume=first.next)]
    ids = [r["id"] for r in first.results] + [r["id"] for p in rest for r in p.results]
    everyone = [p["id"] async for p in client.patients.list()]
    assert ids == everyone


async def test_crud_round_trip(client: DrChronoClient) -> None:
    doctor = (await client.resource("users").action("current"))["doctor"]
    created = await client.patients.create(
        {"gender": "Female", "doctor": doctor, "first_name": "Ada"}
    )
    pid = created["id"]
    assert (await client.patients.get(pid))["first_name"] == "Ada"
    assert await client.patients.patch(pid, {"first_name": "Grace"}) is None
    assert (await client.patients.get(pid))["first_name"] == "Grace"
    assert (
        await client.patients.update(
            pid, {"gender": "Male", "doctor": doctor, "first_name": "Alan"}
        )
        is None
    )
    assert (await client.patients.get(pid))["gender"] == "Male"
    assert await client.patients.delete(pid) is None
    with pytest.raises(NotFound):
        await client.patients.get(pid)


async def test_bulk_create_answers_a_list(client: DrChronoClient) -> None:
    doctor = (await client.resource("users").action("current"))["doctor"]
    made = await client.patients.create(
        [{"gender": "Male", "doctor": doctor}, {"gender": "Other", "doctor": doctor}]
    )
    assert isinstance(made, list)
    assert len(made) == 2


async def test_errors_map_to_the_tree(client: DrChronoClient) -> None:
    with pytest.raises(ValidationFailed) as invalid:
        await client.patients.create({"doctor": 1, "first_name": "Ada"})
    assert "gender" in invalid.value.fields
    with pytest.raises(NotFound):
        await client.patients.get(1)
    with pytest.raises(MethodNotAllowed):
        await client.request("DELETE", "/api/doctors/1")


async def test_overlapping_appointments_conflict(client: DrChronoClient) -> None:
    me = await client.resource("users").action("current")
    office = await anext(client.offices.list(doctor=me["doctor"]))
    patient = await client.patients.create({"gender": "Female", "doctor": me["doctor"]})
    body = {
        "doctor": me["doctor"], "patient": patient["id"], "office": office["id"],
        "exam_room": office["exam_rooms"][-1]["index"], "scheduled_time": FAR_FUTURE,
        "duration": 30,
    }  # fmt: skip
    first = await client.appointments.create(body)
    assert isinstance(first["id"], str)
    with pytest.raises(Conflict):
        await client.appointments.create(body)
    day = [a async for a in client.appointments.list(date=FAR_FUTURE[:10])]
    assert [a["id"] for a in day] == [first["id"]]


async def test_users_current_follows_the_redirect(
    emulator: Emulated, client: DrChronoClient
) -> None:
    me = await client.resource("users").action("current")
    assert me["id"] == emulator.user_id
    assert [(c.path, c.status) for c in emulator.observer.calls] == [
        ("/api/users/current", 302),
        ("/api/users/{id}", 200),
    ]


async def test_actions_answer_their_media(client: DrChronoClient) -> None:
    doctor = (await client.resource("users").action("current"))["doctor"]
    patient = await client.patients.create({"gender": "Female", "doctor": doctor})
    ccda = await client.patients.action("ccda", id=patient["id"])
    assert isinstance(ccda, str)
    assert ccda.startswith("<?xml")


async def test_the_batch_flow_end_to_end(emulator: Emulated, client: DrChronoClient) -> None:
    pages = [p async for p in client.patients.batch_pages(page_size=120)]
    assert [p.number for p in pages] == [1, 2, 3]
    assert pages[0].pages == 3
    everyone = {p["id"] async for p in client.patients.list()}
    assert {r["id"] for p in pages for r in p.results} == everyone
    sent = [(r.method, dict(r.url.params).get("page")) for r in emulator.spy.requests]
    assert sent[:2] == [("POST", None), ("GET", None)]
    assert ("GET", "2") in sent  # page 2 read with GET ?uuid=&page= (the shared assumption)


async def test_a_revoked_token_is_refreshed_once(emulator: Emulated) -> None:
    async def refresh() -> str:
        return emulator.issue()

    tokens = MemoryTokenSource(emulator.access_token, refresh=refresh)
    emulator.state.revoke(emulator.state.tokens[emulator.access_token])
    async with emulator.client(tokens=tokens) as client:
        assert await client.doctors.get(
            (await client.resource("users").action("current"))["doctor"]
        )
    assert tokens.refreshes == 1


async def test_a_token_that_stays_refused_needs_reconnecting(emulator: Emulated) -> None:
    async def refresh() -> str:
        return "not-a-token"

    tokens = MemoryTokenSource("also-not-a-token", refresh=refresh)
    async with emulator.client(tokens=tokens) as client:
        with pytest.raises(NeedsReconnect):
            await client.doctors.get(1)
    assert [c.status for c in emulator.observer.calls] == [401, 401]


async def test_a_missing_scope_is_permission_denied(emulator: Emulated) -> None:
    limited = emulator.issue(frozenset({"user:read"}))
    async with emulator.client(tokens=MemoryTokenSource(limited)) as client:
        with pytest.raises(PermissionDenied):
            _ = [p async for p in client.patients.list()]


async def test_the_hourly_limit_parks_the_budget(make_emulator: Callable[..., Emulated]) -> None:
    emulator = make_emulator(patients=5, rate_limit=2)
    async with emulator.client() as client:
        await anext(client.doctors.list())
        await anext(client.offices.list())
        with pytest.raises(RateLimited) as caught:
            await anext(client.patients.list())
    assert 1 <= caught.value.retry_after <= 3600
    assert emulator.budget.parked_until is not None
