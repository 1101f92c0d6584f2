"""WH-10: no 2xx unless stored. With the database locked (SQLite) or cut away (PostgreSQL
behind a proxy), every delivery gets 503 within 2 s and none gets 2xx; once the database is
back, DrChrono's retries of the same deliveries are stored exactly once."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from sqlalchemy.engine import make_url

from chronobridge.store import Inbox, KeyRing
from support.ingress import (
    HOOK,
    Hub,
    body_for,
    dispatched_rows,
    inbox_count,
    signed_headers,
    started_hub,
)
from support.tcp_proxy import proxy_to


async def _send_all(
    hub: Hub, deliveries: list[tuple[bytes, dict[str, str]]]
) -> list[tuple[int, float]]:
    async def one(body: bytes, headers: dict[str, str]) -> tuple[int, float]:
        started = time.perf_counter()
        answer = await hub.client.post(HOOK, content=body, headers=headers)
        return answer.status_code, time.perf_counter() - started

    return list(await asyncio.gather(*(one(b, h) for b, h in deliveries)))


def _deliveries(count: int) -> list[tuple[bytes, dict[str, str]]]:
    out = []
    for n in range(count):
        body = body_for(n + 1)
        out.append((body, signed_headers(body, delivery_id=f"outage-{n}")))
    return out


@pytest.mark.parametrize("db_kind", ["sqlite"])
async def test_a_locked_sqlite_file_gets_503_fast(database_url: str, keyring: KeyRing) -> None:
    path = make_url(database_url).database or ""
    deliveries = _deliveries(20)
    async with started_hub(database_url, keyring) as hub:
        lock = sqlite3.connect(path, isolation_level=None, timeout=5)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            answers = await _send_all(hub, deliveries)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        assert {status for status, _ in answers} == {503}
        assert max(seconds for _, seconds in answers) < 2.0
        retried = await _send_all(hub, deliveries + deliveries)
        assert {status for status, _ in retried} == {200}
        rows = await Inbox(hub.db).recent()
        assert len(rows) == 20
        assert dispatched_rows(database_url, keyring) == sorted(row.id for row in rows)
        assert all(row.repeats <= 2 for row in rows)


@pytest.mark.parametrize("db_kind", ["postgres"])
async def test_postgres_cut_away_gets_503_fast(database_url: str, keyring: KeyRing) -> None:
    url = make_url(database_url)
    with proxy_to(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(port=proxy.port).render_as_string(hide_password=False)
        deliveries = _deliveries(20)
        async with started_hub(proxied, keyring) as hub:
            first = await _send_all(hub, deliveries[:1])
            assert first[0][0] == 200
            proxy.cut()
            try:
                answers = await _send_all(hub, deliveries[1:])
            finally:
                proxy.restore()
            assert {status for status, _ in answers} == {503}
            assert max(seconds for _, seconds in answers) < 2.0
            retried = await _send_all(hub, deliveries)
            assert {status for status, _ in retried} == {200}
        assert inbox_count(database_url) == 20
        assert len(dispatched_rows(database_url, keyring)) == 20
