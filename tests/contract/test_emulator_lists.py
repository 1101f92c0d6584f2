"""Every list operation of the catalog, on one emulator (in-process):

* a list longer than a page returns every row once through `next` (small pages, since the
  seeded tables are small), and exactly the rows the store holds for the caller's practice;
* `since` (or the list's own since parameter) returns what changed on or after the day, and
  nothing last changed before: the emulator's clock moves three days on, one record of the
  list is changed through the control API, and `since` of the day before "now" returns it alone.
"""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta
from typing import Any

import httpx2
import pytest

from chronobridge.catalog import CATALOG, Kind, Operation
from chronobridge.emulator import create_app
from chronobridge.emulator._seed import MAIN_PRACTICE
from chronobridge.emulator._tables import table
from support.rest_api import BASE, make_state, token

STATE = make_state(patients=30, appointments=60)
APP = create_app(state=STATE)
LISTS = [op for op in CATALOG.operations if op.kind is Kind.LIST]
SINCE_LISTS = [op for op in LISTS if op.since_param]
EVERYTHING = "2000-01-01"  # before every seeded change
REQUIRED_VALUES = {"payer_type": "primary"}


def required_query(op: Operation) -> dict[str, str]:
    query = {p.name: REQUIRED_VALUES[p.name] for p in op.query_params if p.required}
    if op.required_one_of:
        query["since"] = EVERYTHING
    return query


def stored_ids(op: Operation) -> set[int]:
    """What the caller's practice holds for this list, read from the store itself."""
    source = table(STATE, op.resource)
    return {
        record_id
        for record_id, meta in source.meta.items()
        if meta.practice == MAIN_PRACTICE and meta.deleted is None
    }


async def walk(client: httpx2.AsyncClient, op: Operation, **params: Any) -> list[Any]:
    rows: list[Any] = []
    answer = await client.get(op.path, params=params)
    while True:
        assert answer.status_code == 200, (op.path, answer.text)
        body = answer.json()
        rows.extend(body["results"])
        if body["next"] is None:
            return rows
        answer = await client.get(body["next"])


async def every_row(op: Operation, **params: Any) -> list[int]:
    transport = httpx2.ASGITransport(app=APP)
    headers = {"Authorization": f"Bearer {token(STATE)}"}  # new: the tests move the clock
    async with httpx2.AsyncClient(transport=transport, base_url=BASE, headers=headers) as client:
        return [int(row["id"]) for row in await walk(client, op, **params)]


@pytest.mark.parametrize("op", LISTS, ids=lambda op: op.name)
def test_every_row_once_through_next(op: Operation) -> None:
    query = required_query(op)
    whole = asyncio.run(every_row(op, **query, page_size=op.page_size_max or 250))
    # Filters a test cannot restate (insurances' payer_type) are checked against the whole list
    # in one page; the others against the store.
    expected = set(whole) if any(p.required for p in op.query_params) else stored_ids(op)
    assert len(expected) >= 2, "seed more rows for this list"
    size = max(1, math.ceil(len(expected) / 3))
    paged = asyncio.run(every_row(op, **query, page_size=size))
    assert len(paged) == len(set(paged)), "a row came twice"
    assert set(paged) == expected


async def change_one(op: Operation) -> int:
    """Three days on, one record of the list changes (a staff edit through the control API)."""
    record_id = min(stored_ids(op))
    record = table(STATE, op.resource).rows[record_id]
    field = next(k for k in record if k not in ("id", "created_at", "updated_at") and k[0] != "_")
    STATE.clock.advance(timedelta(days=3))
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=APP), base_url=BASE) as c:
        answer = await c.patch(
            f"/_emulator/records/{op.resource}/{record_id}", json={field: record[field]}
        )
    assert answer.status_code == 200, answer.text
    return record_id


@pytest.mark.parametrize("op", SINCE_LISTS, ids=lambda op: op.name)
def test_since_returns_only_what_changed(op: Operation) -> None:
    assert op.since_param is not None
    before = set(asyncio.run(every_row(op, **{**required_query(op), op.since_param: EVERYTHING})))
    changed = asyncio.run(change_one(op))
    # The day before "now" in UTC is on or before the change's local day in every doctor's
    # time zone, and after the local day of anything changed three days ago.
    day = (STATE.clock.now() - timedelta(days=1)).date().isoformat()
    query = {**required_query(op), op.since_param: day}
    assert asyncio.run(every_row(op, **query)) == [changed]
    assert changed in before
