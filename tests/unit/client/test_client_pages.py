"""Next-link pagination: every record exactly once, one page at a time, resumable."""

from __future__ import annotations

import math

import httpx2
import pytest
from client_fakes import BASE, envelope, ok, query, rig
from hypothesis import given, settings
from hypothesis import strategies as st

from chronobridge.errors import InvalidRequest, UnexpectedResponse


def paging_api(total: int, *, next_host: str = "https://drchrono.com") -> object:
    """A DrChrono list of `total` patients; next links carry an opaque cursor on DrChrono's host."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        params = query(request)
        size = int(params.get("page_size", "250"))
        start = int(params.get("cursor", "0"))
        rows = [{"id": i} for i in range(start, min(start + size, total))]
        more = start + size < total
        link = f"{next_host}/api/patients?cursor={start + size}&page_size={size}" if more else None
        return ok(envelope(rows, link))

    return handler


async def test_list_walks_every_next_link_exactly_once() -> None:
    r = rig(paging_api(1001))  # type: ignore[arg-type]
    ids = [p["id"] async for p in r.client.patients.list(since="2026-01-01")]
    assert ids == list(range(1001))
    assert len(r.requests) == 5  # ceil(1001 / 250)
    assert {req.url.host for req in r.requests} == {"app.drchrono.test"}  # next links rebased
    first = query(r.requests[0])
    assert first == {"since": "2026-01-01", "page_size": "250"}
    assert all(call.path == "/api/patients" for call in r.observer.calls)


async def test_list_is_lazy_and_keeps_one_page() -> None:
    r = rig(paging_api(600))  # type: ignore[arg-type]
    records = r.client.patients.list(page_size=100)
    assert r.requests == []  # nothing is sent until iteration starts
    seen = 0
    async for _ in records:
        seen += 1
        assert len(r.requests) == (seen - 1) // 100 + 1  # the next page only when needed
        if seen == 150:
            break
    assert len(r.requests) == 2


async def test_verbose_caps_the_page_size() -> None:
    r = rig(paging_api(10))  # type: ignore[arg-type]
    _ = [p async for p in r.client.patients.list(verbose=True, page_size=1000)]
    assert query(r.requests[0]) == {"verbose": "true", "page_size": "50"}
    r = rig(paging_api(10))  # type: ignore[arg-type]
    _ = [p async for p in r.client.patients.list(page_size=9999)]
    assert query(r.requests[0])["page_size"] == "250"


async def test_pages_hand_over_a_resume_cursor() -> None:
    r = rig(paging_api(700))  # type: ignore[arg-type]
    pages = r.client.patients.pages()
    first = await anext(pages)
    await pages.aclose()
    assert first.number == 1
    assert first.next == "/api/patients?cursor=250&page_size=250"
    resumed = [p async for p in r.client.patients.pages(resume=first.next)]
    assert [len(p.results) for p in resumed] == [250, 200]
    assert resumed[-1].next is None
    assert resumed[0].results[0] == {"id": 250}


async def test_a_cursor_of_another_list_is_refused() -> None:
    r = rig(paging_api(1))  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest):
        r.client.patients.pages(resume="/api/doctors?cursor=3")
    assert r.requests == []


async def test_a_next_link_to_another_path_is_refused() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return ok(envelope([{"id": 1}], "https://drchrono.com/api/doctors?cursor=2"))

    r = rig(handler)
    with pytest.raises(UnexpectedResponse, match="leaves the list"):
        _ = [p async for p in r.client.patients.list()]


async def test_a_next_link_to_the_same_page_stops_the_loop() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return ok(envelope([{"id": 1}], f"{BASE}/api/patients?cursor=x"))

    r = rig(handler)
    with pytest.raises(UnexpectedResponse, match="same page"):
        _ = [p async for p in r.client.patients.list()]
    assert len(r.requests) == 2


@pytest.mark.parametrize("body", [{"data": []}, [], {"results": "x"}, {"results": [], "next": 5}])
async def test_a_list_answer_without_the_envelope_is_unexpected(body: object) -> None:
    r = rig(lambda request: ok(body))
    with pytest.raises(UnexpectedResponse):
        _ = [p async for p in r.client.patients.list()]


async def test_empty_list_makes_one_call() -> None:
    r = rig(lambda request: ok(envelope([], None)))
    assert [p async for p in r.client.doctors.list()] == []
    assert len(r.requests) == 1


@settings(max_examples=20, deadline=None)
@given(total=st.integers(min_value=0, max_value=700), size=st.integers(min_value=1, max_value=400))
async def test_any_total_and_page_size_is_walked_exactly_once(total: int, size: int) -> None:
    r = rig(paging_api(total))  # type: ignore[arg-type]
    ids = [p["id"] async for p in r.client.patients.list(page_size=size)]
    assert ids == list(range(total))
    assert len(r.requests) == max(1, math.ceil(total / min(size, 250)))
