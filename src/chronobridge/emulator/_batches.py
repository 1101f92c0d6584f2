"""DrChrono's asynchronous batch lists (`POST|GET /api/<x>_list`, facts §2).

POST takes the base list's filters as query parameters plus `order_by`, `page_size` and `page`,
snapshots the matching ids at once and answers 201 "In progress". GET `?uuid=` answers
"In progress" until the batch is ready (`READY_AFTER` on the emulator clock), then "Complete"
with one page of results and `pagination`. GET also takes `page` to read another page of a
completed batch (an assumption: DrChrono's documents do not say how page 2 is fetched). A uuid
lives one hour; after that, or when unknown, GET answers 404.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from starlette.responses import Response

from chronobridge.catalog import CATALOG, Kind
from chronobridge.emulator._call import Call
from chronobridge.emulator._http import (
    INTEGER,
    REQUIRED,
    detail,
    field_error,
    not_found,
    ok,
    parse_int,
    truthy,
)
from chronobridge.emulator._listing import ListError, matcher
from chronobridge.emulator._records import Meta, Record
from chronobridge.emulator._state import EmulatorState
from chronobridge.emulator._tables import table, table_name

READY_AFTER = timedelta(seconds=1)  # tests lower this, or move the emulator clock
READY_SETTING = "batch_ready_seconds"  # EmulatorConfig.extra override, in seconds
LIFETIME = timedelta(hours=1)  # facts §2: "UUIDs have a 1 hour lifetime"
ORDERINGS = ("id", "updated_at")
INVALID_PAGE = "Invalid page."


@dataclass(slots=True, kw_only=True)
class Batch:
    uuid: str
    resource: str
    schema: str | None
    ids: list[int]
    page_size: int
    page: int
    verbose: bool
    created: datetime
    practice: int
    client_id: str


@dataclass(slots=True)
class Batches:
    by_uuid: dict[str, Batch] = field(default_factory=dict)

    def prune(self, now: datetime) -> None:
        for key in [k for k, b in self.by_uuid.items() if now - b.created >= LIFETIME]:
            del self.by_uuid[key]


def batches(state: EmulatorState) -> Batches:
    found = state.extensions.get("rest_batches")
    if not isinstance(found, Batches):
        found = state.extensions["rest_batches"] = Batches()
    return found


def ready_after(state: EmulatorState) -> timedelta:
    configured = state.config.extra.get(READY_SETTING)
    try:
        return timedelta(seconds=float(configured)) if configured else READY_AFTER
    except ValueError:
        return READY_AFTER


def _bounded(call: Call, name: str, default: int, high: int) -> int | Response:
    raw = call.query.get(name)
    if raw is None:
        return default
    number = parse_int(raw)
    if number is None:
        return field_error(name, INTEGER)
    if number < 1:
        return field_error(name, "Ensure this value is greater than or equal to 1.")
    if number > high:
        return field_error(name, f"Ensure this value is less than or equal to {high}.")
    return number


async def submit(call: Call) -> Response:
    base = call.op.resource.removesuffix("_list")
    listing = CATALOG.resource(base).op(Kind.LIST)
    schema = listing.schema if listing else None
    high = call.op.page_size_max or 1000
    size = _bounded(call, "page_size", call.op.page_size_default or high, high)
    page = _bounded(call, "page", 1, 10**9)
    if isinstance(size, Response):
        return size
    if isinstance(page, Response):
        return page
    order_by = call.query.get("order_by", "id")
    if order_by not in _orderings(base):
        return field_error("order_by", f'"{order_by}" is not a valid choice.')
    try:
        match = matcher(call, target=table_name(base), schema=schema)
    except ListError as exc:
        return exc.response
    source = table(call.state, base)
    ids = [i for i in source.order if match(source.meta[i], source.rows[i])]
    if order_by != "id":
        ids.sort(key=lambda i: (_order_key(source.rows[i], source.meta[i], order_by), i))
    return _register(call, base, schema, ids, size, page)


def _orderings(base: str) -> tuple[str, ...]:
    return (*ORDERINGS, "scheduled_time") if table_name(base) == "appointments" else ORDERINGS


def _order_key(record: Record, meta: Meta, order_by: str) -> str:
    if order_by == "updated_at":
        return meta.updated.isoformat()
    return str(record.get(order_by) or "")


def _register(
    call: Call, base: str, schema: str | None, ids: list[int], size: int, page: int
) -> Response:
    store = batches(call.state)
    now = call.state.clock.now()
    store.prune(now)
    batch = Batch(
        uuid=str(uuid.uuid4()),
        resource=base,
        schema=schema,
        ids=ids,
        page_size=size,
        page=page,
        verbose=truthy(call.query.get("verbose", "")),
        created=now,
        practice=call.practice,
        client_id=call.client_id,
    )
    store.by_uuid[batch.uuid] = batch
    link = call.request.url.replace_query_params(uuid=batch.uuid)
    return ok(
        {
            "status": "In progress",
            "uuid": batch.uuid,
            "description": f"The batch is being prepared; load it with GET {link}",
        },
        201,
    )


async def fetch(call: Call) -> Response:
    key = call.query.get("uuid")
    if not key:
        return field_error("uuid", REQUIRED)
    store = batches(call.state)
    now = call.state.clock.now()
    store.prune(now)
    batch = store.by_uuid.get(key)
    if batch is None or batch.practice != call.practice or batch.client_id != call.client_id:
        return not_found()
    if now - batch.created < ready_after(call.state):
        return ok({"status": "In progress", "uuid": batch.uuid})
    page = _bounded(call, "page", batch.page, 10**9)
    if isinstance(page, Response):
        return page
    return _complete(call, batch, page)


def _complete(call: Call, batch: Batch, page: int) -> Response:
    pages = max(1, math.ceil(len(batch.ids) / batch.page_size))
    if page > pages:
        return detail(INVALID_PAGE, 404)
    source = table(call.state, batch.resource)
    chosen = batch.ids[(page - 1) * batch.page_size : page * batch.page_size]
    verbose = batch.verbose or truthy(call.query.get("verbose", ""))
    render = call.renderer.wire
    results = [
        render(batch.schema, source.rows[i], source.meta[i], verbose=verbose)
        for i in chosen
        if source.meta[i].deleted is None
    ]
    return ok(
        {
            "status": "Complete",
            "uuid": batch.uuid,
            "results": results,
            "pagination": {"count": len(batch.ids), "pages": pages, "page": page},
        }
    )
