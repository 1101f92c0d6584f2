"""The durable write-back job (DBOS, `writeback` queue) on SQLite and PostgreSQL: the outbox
row and its job commit together; a 5xx is retried by the workflow and books once; a 409 is
settled as a conflict at the first attempt and never sent again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection
from wb_support import FAST, Rig, over_socket, services_for

from chronobridge.domain.budget import Priority
from chronobridge.domain.writeback import ModelChange, WriteAction
from chronobridge.emulator import EmulatorConfig, create_app
from chronobridge.store import Database, KeyRing, StoredWriteback, WritebackStatus, open_database
from chronobridge.workers import DEFAULT_QUEUES, Job, QueueSpec, WorkerRuntime
from chronobridge.workers import Database as JobsDatabase
from chronobridge.writeback import (
    QUEUE,
    WritebackServices,
    install,
    model_values,
    run_writeback,
    submit,
)
from support.dbos_runtime import runtime_config
from support.servers import running_server

START = datetime(2031, 2, 3, 19, 0, tzinfo=UTC)


@pytest.fixture
def emulator_url() -> Iterator[str]:
    with running_server(create_app(EmulatorConfig(patients=6, appointments=12))) as base:
        yield base


class RuntimeEnqueuer:
    def __init__(self, runtime: WorkerRuntime) -> None:
        self.runtime = runtime

    async def prepare(self) -> None:
        return None

    async def __call__(
        self, tx: AsyncConnection, writeback_id: int, workflow_id: str, priority: Priority, /
    ) -> None:
        job = Job(queue=QUEUE, workflow_id=workflow_id, priority=1)
        await self.runtime.jobs.enqueue_in_transaction(tx, job, run_writeback, writeback_id)


async def wait_settled(
    db: Database, services: WritebackServices, writeback_id: int
) -> StoredWriteback:
    for _ in range(600):
        found = await services.outbox.get(writeback_id)
        assert found is not None
        if found.final:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("the write-back job did not settle")


async def test_the_job_retries_a_5xx_books_once_and_settles_a_409(
    worker_database: JobsDatabase, worker_key: str, worker_cipher: KeyRing, emulator_url: str
) -> None:
    url = worker_database.async_url.render_as_string(hide_password=False)
    keys = KeyRing([worker_key])
    db = await open_database(url, keys=keys)
    queues = (*DEFAULT_QUEUES, QueueSpec(name=QUEUE, worker_concurrency=2))
    try:
        async with over_socket(db, emulator_url) as rig:
            install(_provider(url, keys, rig))
            runtime = WorkerRuntime(runtime_config(worker_database, worker_cipher, queues=queues))
            async with runtime:  # DBOS runs the async workflows on a loop of its own
                services = services_for(db, token=rig.token, base_url=emulator_url)
                services.enqueue = RuntimeEnqueuer(runtime)
                await _book_through_a_5xx(rig, services)
                await _clash_is_not_retried(rig, services)
    finally:
        await db.close()


async def _book_through_a_5xx(rig: Rig, services: WritebackServices) -> None:
    visit = await _visit(rig)
    await rig.fault(kind="error", status=503, path="/api/appointments", count=1)
    queued = await submit(services, _booking(services, visit, START, "Queued"),
                          app_id=rig.app_id, connection_id=rig.connection_id)  # fmt: skip
    assert queued.status is WritebackStatus.QUEUED
    stored = await services.outbox.get(queued.writeback_id)
    assert stored is not None
    assert stored.workflow_id == f"writeback:{queued.writeback_id}:1"
    done = await wait_settled(rig.db, services, queued.writeback_id)
    assert done.status is WritebackStatus.DONE, done.message
    assert done.attempts == 2
    day = await rig.get("/api/appointments", date=START.date().isoformat(), doctor="268001")
    assert [a["reason"] for a in day["results"]].count("Queued") == 1


async def _clash_is_not_retried(rig: Rig, services: WritebackServices) -> None:
    visit = await _visit(rig)
    await rig.http.post("/_emulator/stats/reset")
    change = _booking(services, visit, START + timedelta(minutes=10), "Clash")
    clash = await submit(services, change, app_id=rig.app_id, connection_id=rig.connection_id)
    settled = await wait_settled(rig.db, services, clash.writeback_id)
    assert settled.status is WritebackStatus.CONFLICT
    assert settled.attempts == 1
    await asyncio.sleep(0.3)
    assert (await rig.stats())["per_status"].get("409") == 1


def _provider(url: str, keys: KeyRing, rig: Rig) -> Any:
    async def provider() -> WritebackServices:
        db = await open_database(url, keys=keys, migrate=False)
        return services_for(db, token=rig.token, base_url=rig.base_url, settings=FAST)

    return provider


async def _visit(rig: Rig) -> dict[str, Any]:
    page = await rig.get("/api/appointments", since="2000-01-01", doctor="268001")
    return next(a for a in page["results"] if a.get("patient") and not a.get("appt_is_break"))


def _booking(
    services: WritebackServices, visit: dict[str, Any], start: datetime, reason: str
) -> ModelChange:
    raw = {
        "patient_id": str(visit["patient"]),
        "provider_id": "268001",
        "location_id": str(visit["office"]),
        "exam_room": visit["exam_room"],
        "start_time": start.isoformat(),
        "end_time": (start + timedelta(minutes=30)).isoformat(),
        "reason": reason,
    }
    values = model_values(services.mapping, "appointment", raw)
    return ModelChange(model="appointment", action=WriteAction.CREATE, values=values)
