"""List endpoints: filters, keyset pagination and DrChrono's `{previous, results, next}` envelope.

Pages are keyed on the list's order (`_order`: the record id; for appointments, DrChrono's
scheduled date, as (scheduled_time, id)), so a page is stable while records change, and a
request costs time proportional to its page, not to the table. The `cursor` is opaque to
clients: `n<id>` (after) or `p<id>` (before), `n<id>@<scheduled_time>` for appointments, in
URL-safe base64.
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
from chronobridge.emulator._http import detail, field_error, parse_int, truthy
from chronobridge.emulator._order import Key, Order, order_of
from chronobridge.emulator._records import Meta, Record, Table
from chronobridge.emulator._serialize import dumps
from chronobridge.emulator._tables import table

INVALID_CURSOR = "Invalid cursor."
MAX_TIME = 64  # characters of a time in a cursor
ONE_OF = "One of {names} is required."


@dataclass(frozen=True, slots=True)
class Cursor:
    """A page boundary: records after (forward) or before it in the list's order. `time` is
    set for lists ordered by time (appointments): the boundary is then (time, pivot)."""

    forward: bool
    pivot: int
    time: str | None = None

    @property
    def key(self) -> Key:
        return self.pivot if self.time is None else (self.time, self.pivot)

    @classmethod
    def at(cls, key: Key, *, forward: bool) -> Cursor:
        if isinstance(key, int):
            return cls(forward=forward, pivot=key)
        return cls(forward=forward, pivot=key[1], time=key[0])

    def encode(self) -> str:
        stamp = "" if self.time is None else f"@{self.time}"
        raw = f"{'n' if self.forward else 'p'}{self.pivot}{stamp}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        head, at, time = raw.partition("@")
        pivot = parse_int(head[1:])
        if head[:1] not in ("n", "p") or pivot is None or pivot < 0 or len(time) > MAX_TIME:
            return None
        return cls(forward=head[0] == "n", pivot=pivot, time=time if at else None)


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
    number = parse_int(query.get("page_size"))
    # DRF's paginators (`get_page_size`: `_positive_int(strict=True, cutoff=max)`, ValueError
    # swallowed): a page size that is not a positive integer means the default, one above the
    # maximum means the maximum. Never an error.
    if number is not None and number > 0:
        size = min(number, op.page_size_max or 250)
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
        declared = frozenset(p.name for p in op.query_params)
        predicates = filters.build(query, since_param=op.since_param, declared=declared)
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
        source = table(call.state, call.op.resource)
        order = order_of(call.state, call.table, source)
        if page.cursor is not None and (page.cursor.time is not None) != order.timed:
            raise ListError(field_error("cursor", INVALID_CURSOR))  # another list's cursor
    except ListError as exc:
        return exc.response
    ids, before, after = _window(order, source, page, match)
    text, schema, name = call.renderer.text, call.op.schema, call.table
    rows = ",".join(
        [text(name, schema, source.rows[i], source.meta[i], verbose=page.verbose) for i in ids]
    )
    url = call.request.url
    previous = str(url.include_query_params(cursor=before.encode())) if before else None
    following = str(url.include_query_params(cursor=after.encode())) if after else None
    body = f'{{"previous":{dumps(previous)},"results":[{rows}],"next":{dumps(following)}}}'
    return Response(body.encode("utf-8"), media_type="application/json")


Match = Callable[[Meta, Record], bool]


def _window(
    order: Order, source: Table, page: Paging, match: Match
) -> tuple[list[int], Cursor | None, Cursor | None]:
    """The page's ids plus the cursors of the pages before and after it (None at an edge).
    Positions index `order.keys`; a cursor holds the key of the page's edge record."""
    keys, cursor = order.keys, page.cursor
    if cursor is None or cursor.forward:
        start = 0 if cursor is None else bisect.bisect_right(keys, cursor.key)
        found = _take(_ascending(order, source, start, match), page.size + 1)
        more, found = len(found) > page.size, found[: page.size]
        back, first = None, found[0] if found else start
        if cursor is not None and _any(_descending(order, source, first, match)):
            edge = keys[found[0]] if found else Order.key_after(cursor.key)
            back = Cursor.at(edge, forward=False)
        ahead = Cursor.at(keys[found[-1]], forward=True) if more else None
        return _ids(order, found), back, ahead
    end = bisect.bisect_left(keys, cursor.key)
    found = _take(_descending(order, source, end, match), page.size + 1)
    more, found = len(found) > page.size, list(reversed(found[: page.size]))
    last = found[-1] if found else end - 1
    later = _any(_ascending(order, source, last + 1, match))
    edge = keys[found[-1]] if found else Order.key_before(cursor.key)
    back = Cursor.at(keys[found[0]], forward=False) if more else None
    return _ids(order, found), back, Cursor.at(edge, forward=True) if later else None


def _ids(order: Order, positions: list[int]) -> list[int]:
    ids = order.ids
    return [ids[position] for position in positions]


def _ascending(order: Order, source: Table, start: int, match: Match) -> Iterator[int]:
    ids, meta, rows = order.ids, source.meta, source.rows
    for position in range(start, len(ids)):
        record_id = ids[position]
        if match(meta[record_id], rows[record_id]):
            yield position


def _descending(order: Order, source: Table, stop: int, match: Match) -> Iterator[int]:
    ids, meta, rows = order.ids, source.meta, source.rows
    for position in range(stop - 1, -1, -1):
        record_id = ids[position]
        if match(meta[record_id], rows[record_id]):
            yield position


def _take(positions: Iterator[int], count: int) -> list[int]:
    out: list[int] = []
    for position in positions:
        out.append(position)
        if len(out) == count:
            break
    return out


def _any(positions: Iterator[int]) -> bool:
    return next(positions, None) is not None
