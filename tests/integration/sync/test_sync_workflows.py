"""The sync as durable DBOS jobs: a queued sync_resource job, and the planner schedule that
backfills every resource, with the production client path (stored connection and tokens)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sync_support import connect_app

from chronobridge.connections import Services
from chronobridge.domain.mappings import default_mapping
from chronobridge.emulator import EmulatorConfig, create_app
from chronobridge.store import Database, KeyRing, Records, open_database
from chronobridge.sync import ConnectionClients, SyncEngine
from chronobridge.sync import workflows as sync_jobs
from chronobridge.sync._context_jobs import install, uninstall
from chronobridge.workers import SYNC, Job
from chronobridge.workers import Database as WorkerDatabase
from support.dbos_runtime import start_runtime, wait_for
from support.servers import running_server

RESOURCES = ("doctors", "offices", "patients", "appointments")


@pytest.fixture
def emulator_url() -> Iterator[str]:
    config = EmulatorConfig(patients=120, appointments=240, extra={"batch_ready_seconds": "0"})
    with running_server(create_app(config)) as url:
        yield url


def _async_url(database: WorkerDatabase) -> str:
    return database.async_url.render_as_string(hide_password=False)


def _install(url: str, keys: KeyRing) -> None:
    async def build() -> SyncEngine:
        db = await open_database(url, keys=keys, migrate=False)
        services = Services(db=db)
        return SyncEngine(
            db, ConnectionClients(services=services), default_mapping(), resources=RESOURCES
        )

    install(build)


def _count(url: str, keys: KeyRing, app_id: int, resource: str) -> int:
    async def count() -> int:
        db = await open_database(url, keys=keys, migrate=False)
        try:
            return await Records(db).count(app_id=app_id, resource=resource)
        finally:
            await db.close()

    return asyncio.run(count())


def _connect(url: str, keys: KeyRing, base: str) -> int:
    async def connect() -> int:
        db: Database = await open_database(url, keys=keys)
        try:
            return (await connect_app(db, base))[0]
        finally:
            await db.close()

    return asyncio.run(connect())


def test_a_queued_sync_job_backfills_a_resource(
    worker_database: WorkerDatabase, worker_cipher: KeyRing, emulator_url: str
) -> None:
    keys, url = KeyRing.generate(), _async_url(worker_database)
    with start_runtime(worker_database, worker_cipher) as runtime:
        app = _connect(url, keys, emulator_url)
        _install(url, keys)
        try:
            wid = f"sync:test-{app}"
            job = Job(queue=SYNC, workflow_id=wid, partition_key=f"app-{app}")
            runtime.jobs.enqueue(job, sync_jobs.sync_resource, app, "patients", "auto", wid)
            result = runtime.jobs.client.retrieve_workflow(wid).get_result()
        finally:
            uninstall()
    assert result["status"] == "done"
    assert result["created"] == 120
    assert _count(url, keys, app, "patients") == 120
    assert _count(url, keys, app, "doctors") == 3  # synced first: their time zones


def test_the_planner_schedule_backfills_each_resource_once(
    worker_database: WorkerDatabase, worker_cipher: KeyRing, emulator_url: str
) -> None:
    keys, url = KeyRing.generate(), _async_url(worker_database)
    schedules = sync_jobs.schedules(every_seconds=1)
    with start_runtime(worker_database, worker_cipher):
        app = _connect(url, keys, emulator_url)
    _install(url, keys)
    try:
        with start_runtime(worker_database, worker_cipher, schedules=schedules) as runtime:
            wait_for(lambda: _count(url, keys, app, "appointments") == 240, timeout=60)
            client = runtime.jobs.client
            wait_for(
                lambda: (
                    len(client.list_workflows(name="chronobridge.sync.resource", status="SUCCESS"))
                    == len(RESOURCES)
                ),
                timeout=20,
            )
            runs = client.list_workflows(name="chronobridge.sync.resource")
    finally:
        uninstall()
    outputs = sorted((run.output["resource"], run.output["status"]) for run in runs)
    assert outputs == sorted((name, "done") for name in RESOURCES)
    assert _count(url, keys, app, "patients") == 120
