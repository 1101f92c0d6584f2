"""The handshake (WH-1), the raw body in HMAC mode (WH-5) and the size and slow-client limits
(WH-11), on SQLite."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import socket
import string
import time
from pathlib import Path

import httpx2
import pytest
from sqlalchemy.engine import make_url

from chronobridge.ingress import SignatureMode
from chronobridge.store import Inbox, KeyRing, open_database
from chronobridge.web import ServeOptions, create_app
from support import sql
from support.ingress import (
    HOOK,
    SECRET,
    hmac_of,
    inbox_count,
    job_count,
    register_app,
    signed_headers,
    started_hub,
)
from support.servers import running_server

pytestmark = pytest.mark.parametrize("db_kind", ["sqlite"])


def _messages(count: int) -> list[str]:
    rng = random.Random(5)
    alphabets = [string.ascii_letters + string.digits, "éüßçøñ中文日本語😀∑", "&=?%+/# ;"]
    out = ["", "a" * 4096, "é" * 2048, "%20%2F", "msg with spaces & ampersands=1"]
    while len(out) < count:
        alphabet = rng.choice(alphabets)
        out.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 300))))
    return out


def _refusals(url: str) -> list[tuple[str, str | None, int]]:
    found = sql.rows(url, "SELECT reason, event, count FROM webhook_refusals")
    return [(row[0], row[1], row[2]) for row in found]


def _wal_size(url: str) -> int:
    wal = Path(f"{make_url(url).database}-wal")
    return wal.stat().st_size if wal.exists() else 0


async def test_the_handshake_answers_1000_messages_and_writes_nothing(
    database_url: str, keyring: KeyRing, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    messages = _messages(1000)
    async with started_hub(database_url, keyring) as hub:
        await hub.client.get(HOOK, params={"msg": "warm-up"})
        wal_before = _wal_size(database_url)
        for msg in messages:
            answer = await hub.client.get(HOOK, params={"msg": msg})
            assert answer.status_code == 200
            assert answer.headers["content-type"] == "application/json"
            expected = hmac.new(SECRET.encode(), msg.encode(), hashlib.sha256).hexdigest()
            assert answer.json() == {"secret_token": expected}
        assert (await hub.client.get(HOOK)).status_code == 400
        assert _wal_size(database_url) == wal_before  # no write reached the database
    assert inbox_count(database_url) == 0
    assert job_count(database_url) == 0
    # The one refusal (no msg) is counted, and written when the server stops: one row.
    assert _refusals(database_url) == [("msg_missing", None, 1)]
    # The server's log lines (the test's own HTTP client logs its request URLs).
    logged = "\n".join(
        record.getMessage()
        for record in caplog.records
        if not record.name.startswith(("httpx2", "httpcore2"))
    )
    assert [m for m in messages if len(m) >= 8 and m in logged] == []


def _non_canonical(n: int) -> bytes:
    """Valid JSON whose bytes a JSON library would not write back the same way."""
    forms = [
        '{ "object" : { "id" : %d , "name" : "Zo\\u00e9" } , "receiver" : {} }',
        '{"receiver":{},"object":{"name":"Zoé","id":%d}}\n',
        '{\n  "object": {"id": %d, "tags": [1 , 2]},\n  "receiver": {"id": 1}\n}',
        '{"object":{"id":%d,"n":1.50,"big":1E3},"receiver":null}   ',
    ]
    return (forms[n % len(forms)] % (n + 1)).encode()


async def test_hmac_mode_verifies_the_exact_bytes(database_url: str, keyring: KeyRing) -> None:
    async with started_hub(database_url, keyring, mode=SignatureMode.HMAC) as hub:
        for n in range(200):
            body = _non_canonical(n)
            headers = signed_headers(body, delivery_id=f"raw-{n}", mode="hmac")
            answer = await hub.client.post(HOOK, content=body, headers=headers)
            assert answer.json() == {"status": "stored"}, body
            again = json.dumps(json.loads(body)).encode()
            assert again != body
            headers["x-drchrono-delivery"] = f"again-{n}"
            refused = await hub.client.post(HOOK, content=again, headers=headers)
            assert refused.status_code == 403
        rows = await Inbox(hub.db).recent(limit=500)
        assert len(rows) == 200
        assert {row.signature_mode for row in rows} == {"hmac"}
        assert await Inbox(hub.db).payload(rows[0]) == _non_canonical(199)


async def _served(database_url: str, keyring: KeyRing) -> object:
    db = await open_database(database_url, keys=keyring)
    await register_app(db)
    await db.close()
    options = ServeOptions(database_url=database_url, keys=keyring, sweep=False, read_timeout=1.0)
    return create_app(options)


def _raw_post(port: int, head_extra: str, chunks: list[bytes], pause: float) -> bytes:
    """A POST written piece by piece on a raw socket; whatever the server answered."""
    body_headers = signed_headers(b"", delivery_id=f"slow-{random.random()}")
    head = f"POST {HOOK} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in body_headers.items()
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall((head + head_extra + "\r\n").encode())
        try:
            for chunk in chunks:
                sock.sendall(chunk)
                time.sleep(pause)
        except OSError:
            pass  # the server answered and closed while we were still sending
        return sock.recv(4096)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def test_size_and_slow_client_limits(database_url: str, keyring: KeyRing) -> None:
    app = await _served(database_url, keyring)
    with running_server(app) as base:
        port = int(base.rsplit(":", 1)[1])
        slow = await asyncio.to_thread(_raw_post, port, "Content-Length: 100\r\n", [b"{"] * 20, 0.3)
        assert slow.startswith(b"HTTP/1.1 408")
        chunk = b"0" * 65536
        chunked = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 40  # 2.5 MiB, no Content-Length
        big = await asyncio.to_thread(_raw_post, port, "Transfer-Encoding: chunked\r\n", chunked, 0)
        assert big.startswith(b"HTTP/1.1 413")
        before = _rss_mb()
        uploads = [
            asyncio.to_thread(_raw_post, port, "Transfer-Encoding: chunked\r\n", chunked * 8, 0)
            for _ in range(10)
        ]  # ten 20 MiB uploads at once
        answers = await asyncio.gather(*uploads)
        assert all(answer.startswith(b"HTTP/1.1 413") for answer in answers)
        assert _rss_mb() - before < 50
        async with httpx2.AsyncClient(base_url=base) as client:  # still serving
            body = b'{"object": {"id": 1}}'
            headers = signed_headers(body, delivery_id="after-the-storm", secret=SECRET)
            assert (await client.post(HOOK, content=body, headers=headers)).status_code == 200
            wrong = {**headers, "x-drchrono-signature": hmac_of("nope", body)}
            assert (await client.post(HOOK, content=body, headers=wrong)).status_code == 403
    assert inbox_count(database_url) == 1
