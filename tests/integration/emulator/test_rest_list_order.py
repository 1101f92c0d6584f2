"""/api/appointments comes in order of scheduled date (facts §3), as (scheduled_time, id), and
its pages stay stable through `next` and `previous` while appointments are booked and moved."""

from __future__ import annotations

from typing import Any

import httpx2

from chronobridge.emulator import EmulatorState
from chronobridge.emulator._seed import MAIN_PRACTICE
from support.rest_api import api, make_state

SINCE = {"since": "2000-01-01"}


async def pages(client: httpx2.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    found = [(await client.get("/api/appointments", params={**SINCE, **params})).json()]
    while found[-1]["next"]:
        answer = await client.get(found[-1]["next"])
        assert answer.status_code == 200, answer.text
        found.append(answer.json())
    return found


def rows(found: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(r["scheduled_time"], int(r["id"])) for page in found for r in page["results"]]


def live(state: EmulatorState) -> int:
    return sum(1 for _r, m in state.records.scan("appointments") if m.practice == MAIN_PRACTICE)


async def book(client: httpx2.AsyncClient, state: EmulatorState, when: str) -> int:
    seeded = next(r for r, _m in state.records.scan("appointments") if r["patient"])
    body = {k: seeded[k] for k in ("doctor", "office", "exam_room", "patient")}
    answer = await client.post("/api/appointments", json={**body, "scheduled_time": when})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


async def test_appointments_come_by_scheduled_time_then_id() -> None:
    state = make_state(patients=10, appointments=40)
    async with api(state) as client:
        early = await book(client, state, "2001-02-03T08:00:00")  # the newest id, the earliest time
        late = await book(client, state, "2098-01-01T08:00:00")
        listed = rows(await pages(client, page_size=7))
        assert listed == sorted(listed)
        assert listed[0][1] == early
        assert listed[-1][1] == late
        assert len({i for _t, i in listed}) == len(listed) == live(state)
        moved = await client.patch(f"/api/appointments/{early}", json={
            "scheduled_time": "2099-06-01T09:00:00"
        })  # fmt: skip
        assert moved.status_code == 204
        again = rows(await pages(client, page_size=7))
    assert again == sorted(again)
    assert again[-1][1] == early


async def test_bookings_while_paging_neither_repeat_nor_skip_what_follows_the_cursor() -> None:
    state = make_state(patients=10, appointments=40)
    async with api(state) as client:
        walked = [(await client.get("/api/appointments", params={**SINCE, "page_size": 10})).json()]
        early = await book(client, state, "2001-02-03T08:00:00")  # before the cursor
        late = await book(client, state, "2098-01-01T08:00:00")  # after it
        while walked[-1]["next"]:
            walked.append((await client.get(walked[-1]["next"])).json())
    listed = rows(walked)
    ids = [i for _t, i in listed]
    assert listed == sorted(listed)
    assert len(ids) == len(set(ids)) == live(state) - 1
    assert late in ids
    assert early not in ids  # it sorts before the pages already served


async def test_previous_links_walk_back_in_the_same_order() -> None:
    state = make_state(patients=10, appointments=40)
    async with api(state) as client:
        await book(client, state, "2001-02-03T08:00:00")
        forward = await pages(client, page_size=9)
        back = [forward[-1]]
        while back[-1]["previous"]:
            back.append((await client.get(back[-1]["previous"])).json())
    assert [p["results"] for p in reversed(back)] == [p["results"] for p in forward]


async def test_a_cursor_of_another_order_is_refused() -> None:
    state = make_state(patients=30, appointments=40)
    async with api(state) as client:
        patients = (await client.get("/api/patients", params={"page_size": 5})).json()
        cursor = patients["next"].split("cursor=")[1]
        answer = await client.get("/api/appointments", params={**SINCE, "cursor": cursor})
        appointments = (
            await client.get("/api/appointments", params={**SINCE, "page_size": 5})
        ).json()
        timed = appointments["next"].split("cursor=")[1]
        other = await client.get("/api/patients", params={"cursor": timed})
    assert answer.status_code == 400
    assert answer.json() == {"cursor": ["Invalid cursor."]}
    assert other.status_code == 400
