"""Enqueueing: in the caller's transaction (commit = job, rollback = none), idempotent by id,
from a process that runs no DBOS, and one job per partition at a time on `sync`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from chronobridge.store import KeyRing
from chronobridge.workers import (
    SYNC,
    WEBHOOKS,
    Database,
    Job,
    Jobs,
    WorkerRuntime,
    job_id,
    workflow_name,
)
from chronobridge.workers.diagnostics import PROBE, probe
from support.dbos_runtime import (
    probe_attempts,
    probe_marks,
    runtime_config,
    start_runtime,
    status_of,
    wait_for,
)

inbox = sa.Table(
    "test_inbox", sa.MetaData(), sa.Column("delivery_id", sa.String(64), primary_key=True)
)


class Refused(Exception):
    """Raised inside the transaction to roll it back."""


@pytest.fixture
async def app_engine(dbos_runtime: WorkerRuntime) -> AsyncEngine:
    engine = create_async_engine(dbos_runtime.config.database.async_url)
    async with engine.begin() as conn:
        await conn.run_sync(inbox.metadata.create_all)
    yield engine  # type: ignore[misc]
    await engine.dispose()


async def _receive(runtime: WorkerRuntime, engine: AsyncEngine, delivery: str) -> str:
    """What the webhook ingress does: store the delivery and enqueue its job, atomically."""
    async with engine.begin() as conn:
        await conn.execute(sa.insert(inbox).values(delivery_id=delivery))
        job = Job(queue=WEBHOOKS, workflow_id=job_id("webhook", delivery))
        return await runtime.jobs.enqueue_in_transaction(conn, job, probe, delivery)


async def test_commit_stores_the_row_and_the_job(
    dbos_runtime: WorkerRuntime, app_engine: AsyncEngine
) -> None:
    workflow_id = await _receive(dbos_runtime, app_engine, "d-1")
    assert workflow_id == "webhook:d-1"
    client = dbos_runtime.jobs.client
    await asyncio.to_thread(wait_for, lambda: status_of(client, workflow_id) == "SUCCESS")
    assert probe_marks(dbos_runtime.engine)["d-1"] == "test-main"


async def test_rollback_leaves_neither_row_nor_job(
    dbos_runtime: WorkerRuntime, app_engine: AsyncEngine
) -> None:
    async def receive_then_fail() -> None:
        async with app_engine.begin() as conn:
            await conn.execute(sa.insert(inbox).values(delivery_id="d-2"))
            job = Job(queue=WEBHOOKS, workflow_id=job_id("webhook", "d-2"))
            await dbos_runtime.jobs.enqueue_in_transaction(conn, job, probe, "d-2")
            raise Refused

    with pytest.raises(Refused):
        await receive_then_fail()
    async with app_engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(inbox))).scalar() == 0
    assert status_of(dbos_runtime.jobs.client, "webhook:d-2") is None
    await asyncio.sleep(0.3)  # several polls: nothing may run
    assert probe_attempts(dbos_runtime.engine, "d-2") == []


async def test_the_same_workflow_id_is_one_job(
    dbos_runtime: WorkerRuntime, app_engine: AsyncEngine
) -> None:
    job = Job(queue=WEBHOOKS, workflow_id=job_id("webhook", "d-3"))
    first = await _receive(dbos_runtime, app_engine, "d-3")
    async with app_engine.begin() as conn:  # a redelivery: same id inside another transaction
        again = await dbos_runtime.jobs.enqueue_in_transaction(conn, job, probe, "d-3")
    third = await dbos_runtime.jobs.enqueue_async(job, probe, "d-3")
    assert first == again == third == "webhook:d-3"
    await asyncio.to_thread(wait_for, lambda: "d-3" in probe_marks(dbos_runtime.engine))
    await asyncio.sleep(0.3)
    assert probe_attempts(dbos_runtime.engine, "d-3") == ["test-main"]


def test_a_process_without_dbos_enqueues_for_the_workers(
    dbos_runtime: WorkerRuntime, worker_cipher: KeyRing
) -> None:
    web = Jobs(dbos_runtime.config.database, worker_cipher)  # what a `serve` replica holds
    try:
        workflow_id = web.enqueue(Job(queue=WEBHOOKS, workflow_id="from-web"), probe, "web-1")
    finally:
        web.close()
    wait_for(lambda: status_of(dbos_runtime.jobs.client, workflow_id) == "SUCCESS")
    assert probe_marks(dbos_runtime.engine)["web-1"] == "test-main"


@pytest.mark.parametrize("worker_db_kind", ["sqlite"])
async def test_the_runtime_runs_inside_an_async_app(
    worker_database: Database, worker_cipher: KeyRing
) -> None:
    async with WorkerRuntime(runtime_config(worker_database, worker_cipher)) as runtime:
        job = Job(queue=WEBHOOKS, workflow_id="from-async")
        workflow_id = await runtime.jobs.enqueue_async(job, probe, "async-1")
        client = runtime.jobs.client
        await asyncio.to_thread(wait_for, lambda: status_of(client, workflow_id) == "SUCCESS")


def test_a_fresh_database_takes_jobs_before_any_worker_ran(
    tmp_path: Path, worker_cipher: KeyRing
) -> None:
    database = Database.parse(tmp_path / "fresh.sqlite")
    web = Jobs(database, worker_cipher)  # a `serve` replica started first
    try:
        web.prepare()
        workflow_id = web.enqueue(Job(queue=WEBHOOKS, workflow_id="early"), probe, "early")
    finally:
        web.close()
    with start_runtime(database, worker_cipher) as runtime:
        wait_for(lambda: status_of(runtime.jobs.client, workflow_id) == "SUCCESS")


@pytest.mark.parametrize("worker_db_kind", ["sqlite"])
def test_one_job_per_partition_runs_at_a_time(dbos_runtime: WorkerRuntime) -> None:
    jobs = dbos_runtime.jobs
    for key, partition in [("a1", "conn-a"), ("a2", "conn-a"), ("b1", "conn-b")]:
        job = Job(queue=SYNC, workflow_id=job_id("sync", key), partition_key=partition)
        jobs.enqueue(job, probe, key, 0.4)
    wait_for(lambda: len(probe_marks(dbos_runtime.engine)) == 3)
    spans = _spans(dbos_runtime.engine)
    first, second = sorted([spans["a1"], spans["a2"]])
    assert second[0] >= first[1] - 0.05  # the same connection: one after the other
    assert spans["b1"][0] < max(first[1], second[1])  # another connection: alongside


def _spans(engine: sa.Engine) -> dict[str, tuple[float, float]]:
    from chronobridge.workers._tables import probe_attempts as attempts
    from chronobridge.workers._tables import probe_marks as marks

    query = sa.select(attempts.c.probe_key, attempts.c.at, marks.c.at).join(
        marks, marks.c.probe_key == attempts.c.probe_key
    )
    with engine.connect() as conn:
        return {key: (start, end) for key, start, end in conn.execute(query)}


def test_job_ids_and_workflow_names() -> None:
    assert job_id("sync", "conn-1", "patients", 7) == "sync:conn-1:patients:7"
    with pytest.raises(ValueError, match="':'"):
        job_id("webhook", "a:b")
    with pytest.raises(ValueError, match="non-empty"):
        job_id("webhook", "")
    assert workflow_name(probe) == PROBE
    with pytest.raises(TypeError):
        workflow_name(test_job_ids_and_workflow_names)
