"""DrChrono's async batch lists (`/api/<x>_list`): submit, poll, read page after page.

1. POST /api/<x>_list?<filters>&page_size=N (filters in the query, no body) -> 201 {uuid}.
2. GET ?uuid= with capped exponential backoff (every poll costs budget) until "Complete";
   "Failed", "Error" or "Canceled" (as a 200 or as a 500 `AsyncResourceError`) raise
   `BatchFailed` with DrChrono's detail redacted.
3. Further pages: GET ?uuid=&page=k. DrChrono does not document how page 2 is fetched (facts §2,
   batch 5), so this is an assumption shared with the emulator; when the GET refuses the page
   (400, 404, or it answers another page) the client submits a new POST with page=k instead,
   and keeps doing so for the remaining pages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx2

from chronobridge.catalog import Operation
from chronobridge.client._build import Outgoing, build
from chronobridge.client._errors import decode_body
from chronobridge.domain.error_text import redact_message
from chronobridge.errors import BatchFailed, NotFound, UnexpectedResponse, ValidationFailed

if TYPE_CHECKING:
    from chronobridge.client._core import DrChronoClient

__all__ = ["BatchPage", "BatchPlan", "iterate_batch"]

T = TypeVar("T")
COMPLETE = "complete"
FAILED = frozenset({"failed", "error", "canceled", "cancelled"})


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchPage(Generic[T]):
    """One page of a completed batch; `pages` is DrChrono's total when it says."""

    results: list[T]
    number: int
    pages: int | None
    uuid: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchPlan:
    submit: Operation
    fetch: Operation
    params: Mapping[str, object]
    page_size: int


async def iterate_batch(client: DrChronoClient, plan: BatchPlan) -> AsyncIterator[BatchPage[Any]]:
    page = await _submitted_page(client, plan, number=1)
    first_uuid, via_post = page.uuid, False
    while True:
        yield page
        if not _more(page, plan.page_size):
            return
        following = None
        if not via_post:
            following = await _fetched_page(client, plan, first_uuid, page.number + 1)
            if following is not None and _same_records(page, following):
                following = None  # the GET ignored `page` and answered page 1 again
        if following is None:
            via_post = True
            following = await _submitted_page(client, plan, number=page.number + 1)
            if _same_records(page, following):
                raise _unexpected(plan.submit, "DrChrono served the same batch page twice")
        page = following


async def _submitted_page(
    client: DrChronoClient, plan: BatchPlan, *, number: int
) -> BatchPage[Any]:
    params = {**plan.params, "page": number} if number > 1 else plan.params
    answer = await client.execute(build(plan.submit, params=params))
    uuid = answer.get("uuid") if isinstance(answer, dict) else None
    if not isinstance(uuid, str) or not uuid:
        raise _unexpected(plan.submit, "DrChrono's batch answer has no uuid")
    body = await _wait(client, build(plan.fetch, params={"uuid": uuid}), first_wait=True)
    return _page(body, uuid=uuid, number=number, plan=plan)


async def _fetched_page(
    client: DrChronoClient, plan: BatchPlan, uuid: str, number: int
) -> BatchPage[Any] | None:
    out = build(plan.fetch, params={"uuid": uuid, "page": number})
    try:
        body = await _wait(client, out, first_wait=False)
    except (ValidationFailed, NotFound):
        return None  # the GET does not take `page` (or the uuid expired): submit again
    page = _page(body, uuid=uuid, number=number, plan=plan)
    said = _pagination(body).get("page")
    return None if said is not None and said != number else page


async def _wait(client: DrChronoClient, out: Outgoing, *, first_wait: bool) -> dict[str, Any]:
    backoff = client.options.batch_backoff
    waited, attempt = 0.0, 0
    if first_wait:
        waited = await _pause(client, backoff.delay(attempt))
        attempt += 1
    while True:
        body = await _poll(client, out)
        if _status(body) == COMPLETE:
            return body
        if backoff.gives_up(waited):
            raise BatchFailed("DrChrono did not finish the batch in time", **_where(out, 200))
        waited += await _pause(client, backoff.delay(attempt))
        attempt += 1


async def _poll(client: DrChronoClient, out: Outgoing) -> dict[str, Any]:
    response = await client.send(out)
    if response.status_code >= 500:
        _raise_if_failed(_json_or_none(response), out, response.status_code)
    await client.raise_for(out, response)
    body = _decoded(out, response)
    _raise_if_failed(body, out, response.status_code)
    return body


def _decoded(out: Outgoing, response: httpx2.Response) -> dict[str, Any]:
    body = decode_body(response, media=out.media, method=out.method, template=out.template)
    if not isinstance(body, dict):
        raise _unexpected(out, "DrChrono's batch status is not an object")
    return body


def _raise_if_failed(body: object, out: Outgoing, status: int) -> None:
    if not isinstance(body, dict) or _status(body) not in FAILED:
        return
    said = redact_message(str(body.get("detail") or ""))
    message = f"DrChrono's batch ended {_status(body)}" + (f": {said}" if said else "")
    raise BatchFailed(message, detail=said, **_where(out, status))


def _page(body: dict[str, Any], *, uuid: str, number: int, plan: BatchPlan) -> BatchPage[Any]:
    results = body.get("results")
    if not isinstance(results, list):
        raise _unexpected(plan.fetch, "DrChrono's completed batch has no results array")
    pages = _pagination(body).get("pages")
    total = pages if isinstance(pages, int) and not isinstance(pages, bool) else None
    return BatchPage(results=results, number=number, pages=total, uuid=uuid)


def _more(page: BatchPage[Any], page_size: int) -> bool:
    if page.pages is not None:
        return page.number < page.pages
    return len(page.results) >= page_size


def _same_records(before: BatchPage[Any], after: BatchPage[Any]) -> bool:
    """A server that ignores `page` answers page 1 again; ids make that visible."""
    if not before.results or not after.results:
        return False
    first, other = before.results[0], after.results[0]
    if not isinstance(first, dict) or not isinstance(other, dict):
        return False
    return first.get("id") is not None and first.get("id") == other.get("id")


def _pagination(body: dict[str, Any]) -> dict[str, Any]:
    found = body.get("pagination")
    return found if isinstance(found, dict) else {}


def _status(body: dict[str, Any]) -> str:
    return str(body.get("status") or "").strip().lower()


async def _pause(client: DrChronoClient, seconds: float) -> float:
    await client.sleep(seconds)
    return seconds


def _json_or_none(response: httpx2.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _where(out: Outgoing, status: int) -> dict[str, Any]:
    return {"method": out.method, "path": out.template, "status": status}


def _unexpected(where: Operation | Outgoing, message: str) -> UnexpectedResponse:
    path = where.path if isinstance(where, Operation) else where.template
    return UnexpectedResponse(message, method=where.method, path=path, status=200)
