"""Pages from DrChrono, each with the resume reference to store once it is processed.

`list_pages` walks next links (`Page.next` is a relative URL: a run resumes there after a
crash). `batch_pages` runs the async batch flow (`/api/<x>_list`) at the largest page its
submit operation allows in the catalog (1,000 records; 20,000 for clinical note field values),
unless told otherwise. The resume reference of a batch page is `{"uuid", "page", "pages", "at",
"size"}` as JSON, and an interrupted backfill continues with `GET ?uuid=&page=` while the uuid
lives (DrChrono keeps batches for one hour); an expired or refused uuid starts the batch again
(records already stored are recognized by their digest, so nothing is duplicated).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chronobridge.catalog import CATALOG, Kind
from chronobridge.client import DrChronoClient
from chronobridge.errors import NotFound, ValidationFailed
from chronobridge.sync._plan import plan_for

__all__ = ["BATCH_LIFETIME", "Fetched", "batch_page_size", "batch_pages", "list_pages"]

BATCH_LIFETIME = timedelta(minutes=55)
"""A uuid is used for resuming only this long after it was made (DrChrono: one hour)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Fetched:
    records: list[dict[str, Any]] = field(repr=False)
    resume_after: str | None
    """Where the run continues once this page is processed; None after the last page."""
    pages: int | None = None
    """The total number of pages, when DrChrono says (batches)."""


async def list_pages(
    client: DrChronoClient,
    resource: str,
    *,
    resume: str | None,
    page_size: int,
    filters: Mapping[str, object],
) -> AsyncIterator[Fetched]:
    query: dict[str, Any] = dict(filters)
    pages = client.resource(resource).pages(resume=resume, page_size=page_size, **query)
    async for page in pages:
        yield Fetched(records=page.results, resume_after=page.next)


async def batch_pages(
    client: DrChronoClient,
    resource: str,
    *,
    resume: str | None,
    filters: Mapping[str, object],
    page_size: int | None = None,
) -> AsyncIterator[Fetched]:
    """`page_size` None: the largest the batch endpoint allows (fewest calls)."""
    size = page_size or batch_page_size(resource)
    state = _state(resume)
    if state is not None and client.clock() - _at(state) < BATCH_LIFETIME:
        try:
            async for fetched in _continue(client, resource, state):
                yield fetched
            return
        except (NotFound, ValidationFailed):
            pass  # the uuid expired or the page was refused: start the batch again
    async for fetched in _fresh(client, resource, filters=filters, page_size=size):
        yield fetched


def batch_page_size(resource: str) -> int:
    """The largest page of the resource's batch endpoint, from the catalog."""
    size = plan_for(resource).batch_page_size
    if size is None:
        raise KeyError(resource)
    return size


async def _fresh(
    client: DrChronoClient, resource: str, *, filters: Mapping[str, object], page_size: int
) -> AsyncIterator[Fetched]:
    at = client.clock()
    async for page in client.resource(resource).batch_pages(page_size=page_size, **filters):
        last = _is_last(page.number, page.pages, len(page.results), page_size)
        state = {"uuid": page.uuid, "page": page.number + 1, "pages": page.pages}
        state["at"], state["size"] = at.isoformat(), page_size
        yield Fetched(
            records=page.results, resume_after=None if last else _dump(state), pages=page.pages
        )


async def _continue(
    client: DrChronoClient, resource: str, state: dict[str, Any]
) -> AsyncIterator[Fetched]:
    fetch = _fetch_operation(resource)
    number = int(state["page"])
    size = int(state.get("size") or batch_page_size(resource))
    while True:
        body = await client.call(fetch, params={"uuid": state["uuid"], "page": number})
        results, pages = _completed(body, number)
        total = pages if pages is not None else state.get("pages")
        last = _is_last(number, total, len(results), size)
        following = {**state, "page": number + 1, "pages": total}
        yield Fetched(records=results, resume_after=None if last else _dump(following), pages=total)
        if last:
            return
        number += 1


def _completed(body: object, number: int) -> tuple[list[dict[str, Any]], int | None]:
    """The results of page `number`; NotFound when DrChrono answered anything else."""
    if not isinstance(body, dict) or str(body.get("status", "")).lower() != "complete":
        raise NotFound("The batch page is not available", method="GET", path="", status=404)
    results = body.get("results")
    raw = body.get("pagination")
    pagination: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if not isinstance(results, list) or pagination.get("page", number) != number:
        raise NotFound("The batch answered another page", method="GET", path="", status=404)
    pages = pagination.get("pages")
    return results, pages if isinstance(pages, int) else None


def _fetch_operation(resource: str) -> str:
    batch = CATALOG.resources[resource].batch
    op = CATALOG.resources[batch].op(Kind.BATCH_FETCH) if batch else None
    if op is None:
        raise KeyError(resource)
    return op.name


def _is_last(number: int, pages: int | None, count: int, page_size: int) -> bool:
    if pages is not None:
        return number >= pages
    return count < page_size


def _state(resume: str | None) -> dict[str, Any] | None:
    if not resume or not resume.startswith("{"):
        return None
    try:
        data = json.loads(resume)
    except ValueError:
        return None
    return data if isinstance(data, dict) and data.get("uuid") and data.get("at") else None


def _at(state: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(str(state["at"]))


def _dump(state: Mapping[str, Any]) -> str:
    return json.dumps(state, separators=(",", ":"), sort_keys=True)
