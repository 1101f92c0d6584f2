"""List endpoints: filters, keyset pagination and DrChrono's `{previous, results, next}` envelope.

Pages are keyed on the record id (the table's id order), so a page is stable while records
change, and a request costs time proportional to its page, not to the table. The `cursor` is
opaque to clients: `n<id>` (ids after) or `p<id>` (ids before) in URL-safe base64.
"""

from __future__ import annotations

import base64
import binascii
import bisect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from starlette.responses import Response

from chronobridge.catalog import Operation
from chronobridge.emulator._call import Call
from chronobridge.emulator._filters import FilterError, Filters, Predicate
from chronobridge.emulator._http import INTEGER, detail, field_error, parse_int, truthy
from chronobridge.emulator._records import Meta, Record, Table
from chronobridge.emulator._serialize import dumps
from chronobridge.emulator._tables import table

INVALID_CURSOR = "Invalid cursor."
ONE_OF = "One of {names} is required."


@dataclass(frozen=True, slots=True)
class Cursor:
    forward: bool
    pivot: int

    def encode(self) -> str:
        raw = f"{'n' if self.forward else 'p'}{self.pivot}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        pivot = parse_int(raw[1:])
        if raw[:1] not in ("n", "p") or pivot is None or pivot < 0:
            return None
        return cls(forward=raw[0] == "n", pivot=pivot)


class ListError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__("bad list request")
        self.response = response


@dataclass(frozen=True, slots=True)
class Paging:
    size: int
    verbose: bool
    cursor: Cursor | None


def paging(op: Operation, query: Mapping[str, str]) -> Paging:
    verbose = truthy(query.get("verbose", ""))
    size = op.page_size_default or 250
    raw = query.get("page_size")
    if raw is not None:
        number = parse_int(raw)
        if number is None:
            raise ListError(field_error("page_size", INTEGER))
        size = min(max(number, 1), op.page_size_max or 250)
    if verbose and op.verbose_page_size_max:
        size = min(size, op.verbose_page_size_max)
    cursor = None
    if query.get("cursor") is not None:
        cursor = Cursor.decode(query["cursor"])
        if cursor is None:
            raise ListError(field_error("cursor", INVALID_CURSOR))
    return Paging(size=size, verbose=verbose, cursor=cursor)


def matcher(
    call: Call, *, target: str | None = None, schema: str | None = None
) -> Callable[[Meta, Record], bool]:
    """One test per row of table `target`: practice, deletion (appointments' `show_archived`)
    and the filters of the query."""
    target = target or call.table
    op, query = call.op, call.query
    missing = op.required_one_of and not any(query.get(n) for n in op.required_one_of)
    if missing:
        raise ListError(_one_of(op.required_one_of))
    try:
        filters = Filters(call.state, call.renderer, target, schema or op.schema)
        predicates = filters.build(query, since_param=op.since_param)
    except FilterError as exc:
        raise ListError(field_error(exc.param, exc.message)) from None
    practice = call.practice
    archived = target == "appointments" and truthy(query.get("show_archived", ""))
    return _combine(practice, predicates, include_deleted=archived)


def _one_of(names: tuple[str, ...]) -> Response:
    return detail(ONE_OF.format(names=", ".join(names)), 400)


def _combine(
    practice: int, predicates: list[Predicate], *, include_deleted: bool
) -> Callable[[Meta, Record], bool]:
    def match(meta: Meta, record: Record) -> bool:
        if meta.practice != practice or (meta.deleted is not None and not include_deleted):
            return False
        return all(p(record, meta) for p in predicates)

    return match


async def list_records(call: Call) -> Response:
    try:
        page = paging(call.op, call.query)
        match = matcher(call)
    except ListError as exc:
        return exc.response
    source = table(call.state, call.op.resource)
    ids, before, after = _window(source, page, match)
    text, schema, name = call.renderer.text, call.op.schema, call.table
    rows = ",".join(
        [text(name, schema, source.rows[i], source.meta[i], verbose=page.verbose) for i in ids]
    )
    url = call.request.url
    previous = str(url.include_query_params(cursor=before.encode())) if before else None
    following = str(url.include_query_params(cursor=after.encode())) if after else None
    body = f'{{"previous":{dumps(previous)},"results":[{rows}],"next":{dumps(following)}}}'
    return Response(body.encode("utf-8"), media_type="application/json")


def _window(
    source: Table, page: Paging, match: Callable[[Meta, Record], bool]
) -> tuple[list[int], Cursor | None, Cursor | None]:
    """The page's ids plus the cursors of the pages before and after it (None at an edge)."""
    order, cursor = source.order, page.cursor
    if cursor is None or cursor.forward:
        start = 0 if cursor is None else bisect.bisect_right(order, cursor.pivot)
        ids = _take(_ascending(source, start, match), page.size + 1)
        more = len(ids) > page.size
        ids = ids[: page.size]
        edge = ids[0] if ids else (cursor.pivot + 1 if cursor else 0)
        before = cursor is not None and _any(_descending(source, edge, match))
        return ids, _before(edge) if before else None, _after(ids[-1]) if more else None
    end = bisect.bisect_left(order, cursor.pivot)
    ids = _take(_descending(source, cursor.pivot, match, end=end), page.size + 1)
    more = len(ids) > page.size
    ids = list(reversed(ids[: page.size]))
    edge = ids[-1] if ids else max(cursor.pivot - 1, 0)  # ids start at 1
    after = _any(_ascending(source, bisect.bisect_right(order, edge), match))
    return ids, _before(ids[0]) if more else None, _after(edge) if after else None


def _before(pivot: int) -> Cursor:
    return Cursor(forward=False, pivot=pivot)


def _after(pivot: int) -> Cursor:
    return Cursor(forward=True, pivot=pivot)


def _ascending(source: Table, start: int, match: Callable[[Meta, Record], bool]) -> Iterator[int]:
    order, meta, rows = source.order, source.meta, source.rows
    for index in range(start, len(order)):
        record_id = order[index]
        if match(meta[record_id], rows[record_id]):
            yield record_id


def _descending(
    source: Table, pivot: int, match: Callable[[Meta, Record], bool], *, end: int | None = None
) -> Iterator[int]:
    order, meta, rows = source.order, source.meta, source.rows
    stop = bisect.bisect_left(order, pivot) if end is None else end
    for index in range(stop - 1, -1, -1):
        record_id = order[index]
        if match(meta[record_id], rows[record_id]):
            yield record_id


def _take(ids: Iterator[int], count: int) -> list[int]:
    out: list[int] = []
    for record_id in ids:
        out.append(record_id)
        if len(out) == count:
            break
    return out


def _any(ids: Iterator[int]) -> bool:
    return next(ids, None) is not None
