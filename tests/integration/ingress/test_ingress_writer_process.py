"""The inbox writer in a process of its own (what `chronobridge serve` runs): deliveries and
their jobs committed together before the 200, a writer that dies costs 503s (never a 200 for
a delivery not stored) until its replacement answers, and it ends when its parent is killed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx2
import pytest

from chronobridge.ingress import Arrival, WriterLost, WriterProcess
from chronobridge.store import Inbox, KeyRing
from support.ingress import HOOK, Hub, body_for, dispatched_rows, signed_headers, started_hub


def _writer(hub: Hub) -> WriterProcess:
    backend = hub.app.state.web.receiver.writer.backend
    assert isinstance(backend, WriterProcess)
    return backend


async def _post(client: httpx2.AsyncClient, n: int, prefix: str) -> int:
    body = body_for(n + 1, extra={"note": f"CANARY-{n}"})
    answer = await client.post(
        HOOK, content=body, headers=signed_headers(body, delivery_id=f"{prefix}-{n}")
    )
    return answer.status_code


@pytest.mark.parametrize(
    "db_kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_deliveries_are_stored_with_their_jobs(database_url: str, keyring: KeyRing) -> None:
    async with started_hub(database_url, keyring, writer_process=True) as hub:
        assert _writer(hub).pid not in (None, os.getpid())
        first = await _post(hub.client, 0, "alone")  # a batch of one: its own processing job
        statuses = await asyncio.gather(*(_post(hub.client, n, "burst") for n in range(60)))
        again = await asyncio.gather(*(_post(hub.client, n, "burst") for n in range(10)))
        assert (first, set(statuses), set(again)) == (200, {200}, {200})
        rows = await Inbox(hub.db).recent(limit=100)
        assert len(rows) == 61
        assert sum(row.repeats for row in rows) == 10
        assert sorted(dispatched_rows(database_url, keyring)) == sorted(row.id for row in rows)
        [alone] = [row for row in rows if row.delivery_id == "alone-0"]
        assert await Inbox(hub.db).payload(alone) == body_for(1, extra={"note": "CANARY-0"})


@pytest.mark.parametrize("db_kind", ["sqlite"])
async def test_a_writer_that_dies_costs_503s_until_it_is_replaced(
    database_url: str, keyring: KeyRing
) -> None:
    async with started_hub(database_url, keyring, writer_process=True) as hub:
        writer = _writer(hub)
        assert await _post(hub.client, 0, "before") == 200
        dead = writer.pid
        assert dead is not None
        os.kill(dead, signal.SIGKILL)
        answers: Counter[int] = Counter()
        pending = set(range(20))
        for _ in range(200):  # DrChrono's retries, squeezed
            statuses = await asyncio.gather(
                *(_post(hub.client, n, "after") for n in sorted(pending))
            )
            answers.update(statuses)
            pending = {
                n for n, status in zip(sorted(pending), statuses, strict=True) if status != 200
            }
            if not pending:
                break
            await asyncio.sleep(0.2)
        assert not pending
        assert set(answers) == {200, 503}
        assert writer.pid not in (None, dead)
        assert writer.starts == 2
        rows = await Inbox(hub.db).recent(limit=100)
        assert len(rows) == 21  # every delivery once, whatever the 503s
        assert sorted(dispatched_rows(database_url, keyring)) == sorted(row.id for row in rows)


@pytest.mark.parametrize("db_kind", ["sqlite"])
async def test_a_writer_that_stops_answering_is_ended_and_replaced(
    database_url: str, keyring: KeyRing
) -> None:
    async with started_hub(database_url, keyring) as hub:  # the database, migrated, one app
        writer = WriterProcess(
            database_url=database_url, keys=keyring, busy_timeout=1.5, hang_limit=1.0
        )
        await writer.start()
        try:
            assert await writer.store([_arrival(hub, "first")]) == ["stored"]
            stuck = writer.pid
            assert stuck is not None
            os.kill(stuck, signal.SIGSTOP)  # alive, but answers nothing
            with pytest.raises(WriterLost):
                await writer.store([_arrival(hub, "lost")])
            assert await writer.store([_arrival(hub, "again")]) == ["stored"]
            assert writer.pid not in (None, stuck)
        finally:
            await writer.close()
        ids = {row.delivery_id for row in await Inbox(hub.db).recent()}
        assert {"first", "again"} <= ids


def _arrival(hub: Hub, delivery_id: str) -> Arrival:
    body = body_for(7)
    return (hub.app_id, delivery_id, "PATIENT_MODIFY", "secret", time.time(), body)


PARENT = """
import asyncio, sys
from chronobridge.ingress import Arrival, WriterLost, WriterProcess
from chronobridge.store import KeyRing

async def main() -> None:
    writer = WriterProcess(database_url=sys.argv[1], keys=KeyRing([sys.argv[2]]), busy_timeout=1.5)
    await writer.start()
    print(writer.pid, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_the_writer_process_ends_when_its_parent_is_killed(
    database_url: str, keyring: KeyRing, tmp_path: Path
) -> None:
    key = keyring.keys[0].decode()
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, database_url, key], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert Path(f"/proc/{child}").exists()
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 60
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    """Running (not ended, nor a zombie waiting for its reaper)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
