"""WH-9: a 2xx means the delivery is stored. 1,000 deliveries go to `chronobridge serve` while it
is killed with SIGKILL 20 times (and restarted each time); the sender keeps a ledger of every
delivery that got a 2xx and, like DrChrono, sends the others again. After the last restart
every acknowledged delivery is in the inbox, each exactly once, each with its job.

serve runs with --no-worker here: the subject is the ingress's durability, and the restarts
are quicker without the worker (processing durability is DBOS's, tested in tests/integration).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from pathlib import Path

import httpx2
import pytest

from chronobridge.store import KeyRing, open_database
from support import sql
from support.ingress import HOOK, body_for, dispatched_rows, register_app, signed_headers
from support.serve_process import ServeProcess, hub_env
from support.servers import free_port

# Each restart is a new Python process: 3-10 s on a loaded 2-core machine, 20 of them.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

DELIVERIES = 1000
KILLS = 20
CONCURRENCY = 16


async def _prepare(url: str, keys: str) -> None:
    db = await open_database(url, keys=KeyRing([keys]))
    await register_app(db)
    await db.close()


class Sender:
    """Sends every delivery until it is acknowledged; the ledger is what got a 2xx."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.acked: set[str] = set()
        self.attempts = 0
        self.refused = 0

    async def run(self) -> None:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(DELIVERIES):
            queue.put_nowait(n)
        async with httpx2.AsyncClient(base_url=self.base, timeout=5) as client:
            await asyncio.gather(*(self._worker(client, queue) for _ in range(CONCURRENCY)))

    async def _worker(self, client: httpx2.AsyncClient, queue: asyncio.Queue[int]) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            for _ in range(10_000):  # like DrChrono, send again until it is acknowledged
                if await self._send(client, n):
                    break
                await asyncio.sleep(0.05)

    async def _send(self, client: httpx2.AsyncClient, n: int) -> bool:
        body = body_for(n + 1)
        headers = signed_headers(body, delivery_id=f"kill-{n:04d}")
        self.attempts += 1
        try:
            answer = await client.post(HOOK, content=body, headers=headers)
        except httpx2.HTTPError:
            return False
        if 200 <= answer.status_code < 300:
            self.acked.add(f"kill-{n:04d}")
            return True
        self.refused += 1
        return False


def _killer(serve: ServeProcess, sender: Sender, done: threading.Event, kills: list[float]) -> None:
    rng = random.Random(9)
    for _ in range(KILLS):
        target = min(len(sender.acked) + rng.randint(10, 50), DELIVERIES - 5)
        while len(sender.acked) < target and not done.is_set():
            time.sleep(0.005)
        time.sleep(rng.random() * 0.02)  # land anywhere: mid-request, mid-commit, mid-answer
        serve.kill()
        kills.append(time.monotonic())
        serve.start()


def _stored(url: str) -> tuple[dict[int, str], int]:
    rows = sql.rows(url, "SELECT id, delivery_id FROM webhook_deliveries")
    repeats = sql.scalar(url, "SELECT sum(repeats) FROM webhook_deliveries")
    return {int(row[0]): str(row[1]) for row in rows}, int(repeats or 0)


def test_no_acknowledged_delivery_is_lost_across_20_kills(tmp_path: Path) -> None:
    keys = KeyRing.new_key()
    url = f"sqlite+aiosqlite:///{tmp_path / 'kill.sqlite'}"
    asyncio.run(_prepare(url, keys))
    env = hub_env(tmp_path, url, keys)
    serve = ServeProcess(env, free_port(), "--no-worker", log=tmp_path / "serve.log")
    serve.start()
    sender, done, kills = Sender(serve.url), threading.Event(), []
    killer = threading.Thread(target=_killer, args=(serve, sender, done, kills), daemon=True)
    try:
        killer.start()
        asyncio.run(sender.run())
        done.set()
        killer.join(timeout=300)
    finally:
        serve.kill()
    assert len(kills) == KILLS
    assert len(sender.acked) == DELIVERIES
    rows, repeats = _stored(url)
    ids = list(rows.values())
    assert set(ids) >= sender.acked  # 0 acknowledged deliveries lost
    assert len(ids) == len(set(ids)) == DELIVERIES  # each exactly once
    # Each with its job: a dispatch or its own processing job (the inbox sweep at each restart
    # also gives dispatched deliveries theirs, as no worker runs here).
    assert sorted(set(dispatched_rows(url, KeyRing([keys])))) == sorted(rows)
    print(f"kills {len(kills)}, sends {sender.attempts}, refused {sender.refused}, "
          f"repeats {repeats}")  # fmt: skip
