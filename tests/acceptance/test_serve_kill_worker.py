"""WH-9 with processing: `chronobridge serve` with its embedded worker is killed with SIGKILL 5
times while the emulator's changes arrive by webhook (200 real changes, in rounds), and
restarted each time. DrChrono's retries (the emulator's, its clock moved on) bring what the
dead server missed. In the end every delivery is in the inbox once and processed once (`done`
or `duplicate`, one processing job each, none failed), the change events are unique, and the
store holds each changed record at the emulator's current version (or deleted, if it is gone).

serve runs without its planner: the polls would bring changes too, and the subject here is
the webhook path's durability across kills (DBOS recovers the jobs a kill interrupted).
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest

from chronobridge.store import KeyRing, Records, open_database
from support.serve_process import LiveStack, live_stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
ROUNDS, PER_ROUND, KILLS = 40, 5, 5
FINAL = ("done", "duplicate")


def _make_changes_and_kill(stack: LiveStack) -> None:
    rng = random.Random(7)
    kill_after = set(rng.sample(range(4, ROUNDS - 2), KILLS))
    for round_no in range(ROUNDS):
        stack.control("POST", "/_emulator/churn", {"changes": PER_ROUND})
        if round_no in kill_after:
            time.sleep(rng.random() * 0.3)  # land anywhere: receiving, committing, processing
            stack.serve.kill()
            stack.serve.start()
        time.sleep(0.05)


def _retried_until_delivered(stack: LiveStack) -> list[dict[str, object]]:
    """Move the emulator's clock past DrChrono's retry delays until every delivery is in."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        deliveries = stack.deliveries()
        if deliveries and all(d["status"] == "delivered" for d in deliveries):
            return deliveries
        if any(d["status"] == "retrying" for d in deliveries):
            stack.control("POST", "/_emulator/clock", {"advance": 3600})
        time.sleep(1.0)
    raise AssertionError("deliveries still undelivered")


def _current(stack: LiveStack, resource: str, object_id: str) -> dict[str, object] | None:
    """The record as the emulator serves it now; None when it is gone."""
    answer = stack.call("GET", f"/api/{resource}/{object_id}")
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def _settled(stack: LiveStack) -> bool:
    """Every delivery processed and every processing job ended: a job marks its delivery done
    in a step, then DBOS records the job's end a moment later."""
    waiting = stack.rows(
        "SELECT count(*) FROM webhook_deliveries WHERE status NOT IN ('done', 'duplicate')"
    )
    running = stack.rows(
        "SELECT count(*) FROM workflow_status WHERE name = 'chronobridge.webhooks.process' "
        "AND status IN ('PENDING', 'ENQUEUED')"
    )
    return waiting[0][0] == 0 and running[0][0] == 0


async def _stored(
    url: str, keys: KeyRing, app_id: int, wanted: set[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, object]]:
    """(resource, id) -> the stored live record; absent when none is live."""
    db = await open_database(url, keys=keys)
    try:
        records = Records(db)
        found: dict[tuple[str, str], dict[str, object]] = {}
        for resource, external_id in wanted:
            row = await records.get(app_id=app_id, resource=resource, external_id=external_id)
            if row is not None and row.deleted_at is None:
                found[(resource, external_id)] = row.payload
        return found
    finally:
        await db.close()


def test_processing_survives_five_kills(tmp_path: Path) -> None:
    with live_stack(tmp_path, "--no-planner", patients=60) as stack:
        _make_changes_and_kill(stack)
        deliveries = _retried_until_delivered(stack)
        stack.wait(lambda: _settled(stack), within=300, every=0.5)
        inbox = stack.rows(
            "SELECT delivery_id, status, workflow_id FROM webhook_deliveries ORDER BY id"
        )
        jobs = stack.rows(
            "SELECT workflow_uuid, status FROM workflow_status "
            "WHERE name = 'chronobridge.webhooks.process'"
        )
        events = stack.rows("SELECT resource, external_id, kind, updated_at FROM change_events")
        changed = {(str(d["resource"]), str(d["object_id"])) for d in deliveries}
        current = {key: _current(stack, *key) for key in changed}
        stored = asyncio.run(_stored(stack.database_url, stack.keys, stack.app_id, changed))
        starts = stack.serve.starts
    sent = [str(d["id"]) for d in deliveries]
    retried = sum(1 for d in deliveries if len(d["attempts"]) > 1)  # type: ignore[arg-type]
    print(f"\nkills {KILLS}, deliveries {len(sent)}, sent again after a kill {retried}")
    assert starts == KILLS + 1
    assert len(sent) >= ROUNDS * PER_ROUND * 0.9  # churn changes that DrChrono announces
    assert sorted(row[0] for row in inbox) == sorted(sent)  # each delivery stored once
    assert {row[1] for row in inbox} <= set(FINAL)  # processed: none failed, none left
    by_id = dict((row[0], row[1]) for row in jobs)
    assert len(by_id) == len(jobs) == len(inbox)  # one processing job per delivery
    assert {by_id[row[2]] for row in inbox} == {"SUCCESS"}
    assert len(events) == len(set(events))  # no change announced twice
    live = {key: body for key, body in current.items() if body is not None}
    assert set(stored) == set(live)  # what is gone is deleted, what lives is stored
    for key, body in live.items():  # as the emulator has it now (a flag event's verbose
        assert {name: stored[key].get(name) for name in body} == body, key  # read has more)
