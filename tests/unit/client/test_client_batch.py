"""The async batch flow: submit, poll with backoff, page through, fall back, fail cleanly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from client_fakes import ok, query, rig

from chronobridge.client import ClientOptions
from chronobridge.domain.backoff import Backoff
from chronobridge.errors import BatchFailed, UnexpectedResponse


@dataclass
class FakeBatches:
    """DrChrono's /api/patients_list with a configurable answer to GET ?uuid=&page=k."""

    total: int
    polls_until_done: int = 2
    page_mode: str = "get"  # get | refuse | ignore | mismatch
    status: str = "Complete"
    pagination: bool = True
    batches: dict[str, dict[str, int]] = field(default_factory=dict)
    posts: list[dict[str, str]] = field(default_factory=list)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        params = query(request)
        if request.method == "POST":
            return self._submit(params)
        state = self.batches[params["uuid"]]
        state["polls"] += 1
        if state["polls"] < self.polls_until_done:
            return ok({"status": "In progress", "uuid": params["uuid"]})
        if self.status != "Complete":
            return ok(
                {"status": self.status, "uuid": params["uuid"], "detail": 'Please ask "Zebulon".'}
            )
        return self._page(params, state)

    def _submit(self, params: dict[str, str]) -> httpx2.Response:
        self.posts.append(params)
        uuid = f"uuid-{len(self.posts)}"
        page = int(params.get("page", "1"))
        self.batches[uuid] = {"polls": 0, "page": page, "size": int(params["page_size"])}
        return ok({"status": "In progress", "uuid": uuid, "description": "..."}, 201)

    def _page(self, params: dict[str, str], state: dict[str, int]) -> httpx2.Response:
        page = state["page"]
        if "page" in params:
            if self.page_mode == "refuse":
                return ok({"page": ["Unknown parameter."]}, 400)
            if self.page_mode == "get":
                page = int(params["page"])
        size = state["size"]
        start = (page - 1) * size
        rows = [{"id": i} for i in range(start, min(start + size, self.total))]
        pages = -(-self.total // size)
        said = 1 if self.page_mode == "mismatch" and "page" in params else page
        body: dict[str, Any] = {"status": "Complete", "uuid": params["uuid"], "results": rows}
        if self.pagination:
            body["pagination"] = {"count": self.total, "pages": pages, "page": said}
        return ok(body)


async def _ids(fake: FakeBatches, **filters: object) -> tuple[list[int], Any]:
    r = rig(fake)
    ids = [p["id"] async for p in r.client.patients.batch(page_size=100, **filters)]
    return ids, r


async def test_submit_poll_and_read_every_page_with_get() -> None:
    fake = FakeBatches(total=250)
    ids, r = await _ids(fake, since="2026-01-01", verbose=True)
    assert ids == list(range(250))
    assert fake.posts == [{"since": "2026-01-01", "verbose": "true", "page_size": "100"}]
    methods = [(q.method, query(q).get("page")) for q in r.requests]
    assert methods == [("POST", None), ("GET", None), ("GET", None), ("GET", "2"), ("GET", "3")]
    assert r.time.sleeps == [1.0, 2.0]  # a pause before the first poll, then backoff
    assert {c.path for c in r.observer.calls} == {"/api/patients_list"}


@pytest.mark.parametrize("mode", ["refuse", "ignore", "mismatch"])
async def test_pages_fall_back_to_a_new_post_when_the_get_refuses_page(mode: str) -> None:
    fake = FakeBatches(total=250, page_mode=mode, polls_until_done=1)
    ids, _ = await _ids(fake)
    assert ids == list(range(250))
    assert [p.get("page") for p in fake.posts] == [None, "2", "3"]


async def test_without_pagination_a_short_page_ends_the_batch() -> None:
    fake = FakeBatches(total=200, pagination=False, polls_until_done=1)
    ids, r = await _ids(fake)
    assert ids == list(range(200))
    assert query(r.requests[-1]) == {"uuid": "uuid-1", "page": "3"}  # an empty third page


async def test_batch_pages_carry_numbers_and_totals() -> None:
    r = rig(FakeBatches(total=150, polls_until_done=1))
    pages = [p async for p in r.client.patients.batch_pages(page_size=100)]
    assert [(p.number, p.pages, len(p.results), p.uuid) for p in pages] == [
        (1, 2, 100, "uuid-1"),
        (2, 2, 50, "uuid-1"),
    ]


async def test_page_size_never_exceeds_the_batch_maximum() -> None:
    fake = FakeBatches(total=3, polls_until_done=1)
    r = rig(fake)
    _ = [p async for p in r.client.patients.batch(page_size=50_000)]
    assert fake.posts[0]["page_size"] == "1000"
    default = FakeBatches(total=3, polls_until_done=1)
    r = rig(default)
    _ = [p async for p in r.client.patients.batch()]
    assert default.posts[0]["page_size"] == "1000"


@pytest.mark.parametrize("status", ["Failed", "Error", "Canceled", "Cancelled"])
async def test_failure_statuses_raise_with_the_detail_redacted(status: str) -> None:
    r = rig(FakeBatches(total=5, status=status, polls_until_done=1))
    with pytest.raises(BatchFailed) as caught:
        _ = [p async for p in r.client.patients.batch()]
    assert status.lower() in str(caught.value)
    assert "Zebulon" not in str(caught.value)
    assert caught.value.detail == "Please ask <redacted>."
    assert caught.value.retriable


async def test_an_async_resource_error_500_is_a_batch_failure() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST":
            return ok({"status": "In progress", "uuid": "u1"}, 201)
        return ok({"status": "Error", "uuid": "u1", "detail": "Submit again."}, 500)

    r = rig(handler)
    with pytest.raises(BatchFailed, match="error: Submit again") as caught:
        _ = [p async for p in r.client.patients.batch()]
    assert caught.value.status == 500


async def test_a_batch_that_never_completes_gives_up_within_the_deadline() -> None:
    options = ClientOptions(batch_backoff=Backoff(initial=1, factor=2, cap=8, max_wait=30))
    r = rig(FakeBatches(total=5, polls_until_done=10**6), options=options)
    with pytest.raises(BatchFailed, match="did not finish the batch in time"):
        _ = [p async for p in r.client.patients.batch()]
    assert r.time.sleeps == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert sum(r.time.sleeps) - r.time.sleeps[-1] < 30


async def test_a_submit_answer_without_uuid_is_unexpected() -> None:
    r = rig(lambda request: ok({"status": "In progress"}, 201))
    with pytest.raises(UnexpectedResponse, match="no uuid"):
        _ = [p async for p in r.client.patients.batch()]


async def test_a_server_that_ignores_page_everywhere_is_caught() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST":
            return ok({"status": "In progress", "uuid": "u"}, 201)
        return ok({"status": "Complete", "results": [{"id": i} for i in range(1000)]})

    r = rig(handler)
    with pytest.raises(UnexpectedResponse, match="same batch page twice"):
        _ = [p async for p in r.client.patients.batch()]
