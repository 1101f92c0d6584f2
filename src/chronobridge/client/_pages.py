"""Next-link pagination over DrChrono's `{previous, results, next}` envelope.

The walker keeps one page at a time: it fetches a page, hands it over, and only then asks for
the next, so memory does not grow with the number of records. `next` is DrChrono's absolute
URL; only its path and query are used, against our own base URL, so a link can never send the
token to another host. `Page.next` doubles as a resume cursor (`pages(resume=...)`): the sync
engine stores it with the page's rows in one transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urlsplit

from chronobridge.client._build import Outgoing
from chronobridge.errors import InvalidRequest, UnexpectedResponse

if TYPE_CHECKING:
    from chronobridge.client._core import DrChronoClient

__all__ = ["Page", "iterate_pages", "resume_request"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Page(Generic[T]):
    """One page of a list. `next` is the resume cursor (None on the last page)."""

    results: list[T]
    next: str | None
    number: int


async def iterate_pages(client: DrChronoClient, first: Outgoing) -> AsyncIterator[Page[Any]]:
    out, number = first, 0
    while True:
        body = await client.execute(out)
        results, link = _envelope(body, out)
        number += 1
        following = _rebase(link, out) if link else None
        yield Page(results=results, next=following, number=number)
        if following is None:
            return
        if following == out.url:
            raise _unexpected(out, "DrChrono's next link points at the same page")
        out = out.to(following)


def resume_request(first: Outgoing, cursor: str) -> Outgoing:
    """The request for a stored cursor; it must continue the same list."""
    path = cursor.split("?", 1)[0] if isinstance(cursor, str) else ""
    if not path or path.rstrip("/") != first.url.rstrip("/"):
        raise InvalidRequest(f"The resume cursor does not belong to {first.template}.")
    return first.to(cursor)


def _envelope(body: object, out: Outgoing) -> tuple[list[Any], str | None]:
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise _unexpected(out, "DrChrono's list answer has no results array")
    link = body.get("next")
    if link is not None and not isinstance(link, str):
        raise _unexpected(out, "DrChrono's next link is not a URL")
    return body["results"], link or None


def _rebase(link: str, out: Outgoing) -> str:
    parts = urlsplit(link)
    list_path = out.url.split("?", 1)[0].rstrip("/")
    if parts.path.rstrip("/") != list_path:
        raise _unexpected(out, "DrChrono's next link leaves the list")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _unexpected(out: Outgoing, message: str) -> UnexpectedResponse:
    return UnexpectedResponse(message, method=out.method, path=out.template, status=200)
