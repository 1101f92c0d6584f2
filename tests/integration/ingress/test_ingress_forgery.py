"""WH-3: 10,000 forged or malformed requests never become data: every one answered 4xx (401 or
403 for authentication, 400/405/408/413/415 for framing), 0 inbox rows, 0 jobs, 0 server
errors, memory steady, and no secret, signature or body in the logs. The only trace they leave
in the database is the refusal log's counts: every refusal counted, in a few rows per minute.

The bulk goes in-process (ASGI) for speed; a sample goes over a real socket through uvicorn.
Secret-mode deliveries carry the shared secret itself, so a re-serialized body under a captured
secret is indistinguishable from DrChrono: the forgeries change HMAC-signed bodies instead (the
WH-2 caveat, see docs/webhooks.md).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from pathlib import Path

import httpx2
import pytest

from chronobridge.catalog import CATALOG
from chronobridge.ingress._refusals import MAX_KEYS
from chronobridge.store import KeyRing, open_database
from chronobridge.web import ServeOptions, create_app
from support import sql
from support.forgeries import Forger, Forgery
from support.ingress import SECRET, inbox_count, job_count, register_app, started_hub
from support.servers import running_server

pytestmark = pytest.mark.parametrize("db_kind", ["sqlite"])
AUTH = {401, 403}
FRAMING = {400, 404, 405, 408, 413, 415}


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _send(client: httpx2.AsyncClient, forgery: Forgery) -> int:
    answer = await client.request(
        forgery.method, forgery.path, headers=forgery.headers, content=forgery.body
    )
    return answer.status_code


def _leaks(text: str, forgeries: list[Forgery]) -> list[str]:
    found = [SECRET] if SECRET in text else []
    found += re.findall(r"CANARY-\d+", text)
    for forgery in forgeries:
        for name, value in forgery.headers:
            if name == "x-drchrono-signature" and len(value) >= 16 and value in text:
                found.append("a signature")
    return found


async def test_ten_thousand_forgeries_in_process(
    database_url: str, keyring: KeyRing, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    forgeries: list[Forgery] = []
    statuses: Counter[int] = Counter()
    by_kind: dict[str, set[int]] = {}
    async with started_hub(database_url, keyring) as hub:
        await register_app(hub.db, client_id="second-app", secret="second-secret")
        rss_before = _rss_mb()
        forger = iter(Forger(seed=3))
        for _ in range(100):
            batch = [next(forger) for _ in range(100)]
            answers = await asyncio.gather(*(_send(hub.client, f) for f in batch))
            for forgery, status in zip(batch, answers, strict=True):
                statuses[status] += 1
                by_kind.setdefault(forgery.kind, set()).add(status)
            forgeries += batch
        growth = _rss_mb() - rss_before
    assert sum(statuses.values()) == 10_000
    assert set(statuses) <= AUTH | FRAMING, statuses
    assert len(by_kind) == len(Forger(seed=0).kinds)  # every kind was sent
    assert by_kind["wrong_signature"] == {403}
    assert by_kind["missing_signature"] == {401}
    assert by_kind["too_large"] == {413}
    assert by_kind["wrong_method"] == {405}
    assert by_kind["wrong_content_type"] == {415}
    assert inbox_count(database_url) == 0
    assert job_count(database_url) == 0
    assert growth < 50, f"RSS grew {growth:.0f} MB"
    assert _leaks(caplog.text, forgeries) == []
    _assert_bounded_refusals(database_url, refused=10_000 - statuses[405])


def _assert_bounded_refusals(url: str, *, refused: int) -> None:
    """Each refusal counted once, in at most MAX_KEYS rows per minute, with names and codes
    only (a 405 is the framework's, before the receiver: not counted)."""
    rows = sql.rows(url, "SELECT minute, reason, event, count FROM webhook_refusals")
    assert sum(row[3] for row in rows) == refused
    minutes = {row[0] for row in rows}
    assert len(rows) <= len(minutes) * (MAX_KEYS + 20), len(rows)
    assert len(rows) < 200  # a handful per minute, not one per request
    known = {event.name for event in CATALOG.events} | {"PING", None}
    assert {row[2] for row in rows} <= known


async def test_forgeries_over_a_real_socket(
    database_url: str, keyring: KeyRing, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    db = await open_database(database_url, keys=keyring)
    await register_app(db)
    await db.close()
    app = create_app(ServeOptions(database_url=database_url, keys=keyring, sweep=False))
    forger = iter(Forger(seed=11))
    forgeries = [next(forger) for _ in range(400)]
    with running_server(app) as base:
        async with httpx2.AsyncClient(base_url=base, timeout=10) as client:
            statuses = [await _send(client, forgery) for forgery in forgeries]
            health = await client.get("/healthz")
    assert health.status_code == 200  # still up
    assert set(statuses) <= AUTH | FRAMING, Counter(statuses)
    assert inbox_count(database_url) == 0
    assert job_count(database_url) == 0
    assert _leaks(caplog.text, forgeries) == []
    _assert_bounded_refusals(database_url, refused=400 - Counter(statuses)[405])
