"""The durable side of a deauthorization (reliability OA-11) on SQLite and PostgreSQL, with the
real worker runtime and the emulator behind a proxy that can cut it away: a provider leaves
while DrChrono is unreachable; the job held in the deauthorization's transaction removes the
iframe registration and revokes every token once DrChrono answers again. When DrChrono
confirms everything at once, the held job is dropped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest

from chronobridge.connections import (
    Services,
    complete_authorization,
    deauthorize,
    probe_authorization,
    register_iframe,
    start_authorization,
)
from chronobridge.emulator import EmulatorConfig, EmulatorState, create_app
from chronobridge.emulator._config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from chronobridge.settings import Settings
from chronobridge.store import (
    AuditLog,
    Connection,
    Database,
    IframeRegistrations,
    KeyRing,
    Tokens,
    open_database,
)
from chronobridge.wiring import Hub
from chronobridge.wiring._cleanup_jobs import (
    CLEANUP_QUEUE,
    CLEANUP_WORKFLOW_MODULE,
    JobsCleanupQueue,
    install_cleanup,
)
from chronobridge.workers import Database as JobsDatabase
from chronobridge.workers import WorkerRuntime
from support.dbos_runtime import runtime_config, status_of
from support.servers import running_server
from support.tcp_proxy import Proxy, proxy_to


@dataclass
class Emulator:
    url: str  # through the proxy
    state: EmulatorState
    proxy: Proxy


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    app = create_app(EmulatorConfig(patients=4, appointments=4, auto_approve="doctor1"))
    with running_server(app) as direct:
        parts = urlsplit(direct)
        with proxy_to(parts.hostname or "127.0.0.1", parts.port or 80) as proxy:
            yield Emulator(f"http://127.0.0.1:{proxy.port}", app.state.emulator, proxy)


def _settings(tmp_path: Path, url: str, key: str, drchrono: str) -> Settings:
    return Settings(
        home=tmp_path,
        database_url=url,  # type: ignore[arg-type]
        encryption_keys=key,  # type: ignore[arg-type]
        drchrono_url=drchrono,
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,  # type: ignore[arg-type]
    )


async def _connect(hub: Hub, emulator: Emulator, username: str) -> Connection:
    with httpx2.Client(base_url=emulator.url) as control:
        control.put("/_emulator/oauth/auto-approve", json={"user": username}).raise_for_status()
    start = await start_authorization(hub.services, await hub.app())
    callback = (await probe_authorization(hub.services, start)).callback
    assert callback is not None
    return await complete_authorization(hub.services, callback)


def _status_code(emulator: Emulator, token: str) -> int:
    with httpx2.Client(base_url=emulator.url) as http:
        answer = http.get("/api/doctors", headers={"Authorization": f"Bearer {token}"})
    return answer.status_code


@asynccontextmanager
async def _worker(database: JobsDatabase, keys: KeyRing, url: str) -> AsyncIterator[None]:
    async def services() -> Services:  # on the workers' own event loop
        return Services(db=await open_database(url, keys=keys, migrate=False))

    install_cleanup(services)
    config = runtime_config(database, keys, queues=(CLEANUP_QUEUE,),
                            workflow_modules=(CLEANUP_WORKFLOW_MODULE,))  # fmt: skip
    async with WorkerRuntime(config):
        yield


async def _settled(queue: JobsCleanupQueue, workflow_id: str) -> str | None:
    for _ in range(600):
        status = status_of(queue.jobs.client, workflow_id)
        if status in ("SUCCESS", "ERROR"):
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"the cleanup job is still {status_of(queue.jobs.client, workflow_id)}")


async def test_a_deauthorization_drchrono_missed_is_finished_by_the_worker(
    worker_database: JobsDatabase, worker_key: str, emulator: Emulator, tmp_path: Path
) -> None:
    url = worker_database.async_url.render_as_string(hide_password=False)
    keys = KeyRing([worker_key])
    settings = _settings(tmp_path, url, worker_key, emulator.url)
    async with Hub.open(settings) as hub:
        doctor = await _connect(hub, emulator, "doctor1")
        staff = await _connect(hub, emulator, "staff1")
        await register_iframe(hub.services, doctor.id)
        held = [await _access_token(hub.db, c) for c in (doctor, staff)]
        queue = JobsCleanupQueue(settings, keys, delay=0.2, first_pause=0.2)
        await queue.prepare()
        emulator.proxy.cut()
        done = await deauthorize(hub.services, doctor.id, actor="test", queue=queue)
        assert (done.revoked, done.iframe_removed, done.retrying) == (0, False, True)
        assert (DEFAULT_CLIENT_ID, doctor.doctor_id) in emulator.state.iframes
        workflow_id = await _only_held_job(queue)
        emulator.proxy.restore()
        async with _worker(worker_database, keys, url):
            assert await _settled(queue, workflow_id) == "SUCCESS"
        queue.close()
        assert (DEFAULT_CLIENT_ID, doctor.doctor_id) not in emulator.state.iframes
        assert await IframeRegistrations(hub.db).list() == []
        assert [_status_code(emulator, token) for token in held] == [401, 401]
        actions = [r.action for r in await AuditLog(hub.db).recent(limit=5)]
        assert "connection.revoke_failed" in actions
        assert "connection.cleanup_abandoned" not in actions


async def test_the_held_job_is_dropped_when_drchrono_confirmed_everything(
    worker_database: JobsDatabase, worker_key: str, emulator: Emulator, tmp_path: Path
) -> None:
    url = worker_database.async_url.render_as_string(hide_password=False)
    settings = _settings(tmp_path, url, worker_key, emulator.url)
    async with Hub.open(settings) as hub:
        staff = await _connect(hub, emulator, "staff1")
        queue = JobsCleanupQueue(settings, KeyRing([worker_key]))
        await queue.prepare()
        try:
            done = await deauthorize(hub.services, staff.id, actor="test", queue=queue)
            assert (done.revoked, done.revoke_failed, done.retrying) == (2, 0, False)
            assert queue.jobs.client.list_workflows() == []
        finally:
            queue.close()


async def _access_token(db: Database, connection: Connection) -> str:
    found = await Tokens(db).get(connection.id)
    assert found is not None
    return found.access_token


async def _only_held_job(queue: JobsCleanupQueue) -> str:
    (job,) = queue.jobs.client.list_workflows()
    assert job.status in ("ENQUEUED", "DELAYED")
    return str(job.workflow_id)
