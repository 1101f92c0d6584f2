"""DP-1: kill -9 the worker at 20 random points of a 10,000-patient sync.

The emulator serves 10,000 patients over a real socket; a worker subprocess (crash_worker.py)
runs the queued sync job with list pages of 100. The test waits for the run's committed page
count to reach each of 20 random thresholds, lets a random 0-100 ms pass (so the kill lands at
a random moment of a page's life: the HTTP call, staging, the ingest transaction), kills the
worker with SIGKILL and restarts it with the same executor id. Pass: the store equals the
emulator (count and per-record digest), every record has exactly one change event and one model
row, the one run resumed from its cursor (each page processed once), and the API calls of the
whole ordeal are at most 1.1 x those of a fault-free run of the same sync.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
import sqlalchemy as sa
from sync_emulator import expected_digests, token_for
from sync_support import connect_app, make_app

from chronobridge.domain.mappings import default_mapping
from chronobridge.emulator import EmulatorConfig, EmulatorState, create_app
from chronobridge.store import ChangeEvents, KeyRing, ModelRows, Records, SyncRuns, open_database
from chronobridge.store.tables import sync_runs
from chronobridge.sync import EngineOptions, StaticClients, SyncEngine
from chronobridge.sync import workflows as sync_jobs
from chronobridge.workers import SYNC, Job, Jobs
from chronobridge.workers import Database as WorkerDatabase
from support.servers import running_server

pytestmark = pytest.mark.slow

PATIENTS = 10_000
PAGE = 100
KILLS = 20
HERE = Path(__file__).resolve().parent


@dataclass
class Emulator:
    url: str
    state: EmulatorState

    def stats_total(self) -> int:
        return int(httpx2.get(f"{self.url}/_emulator/stats").json()["total"])


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    config = EmulatorConfig(patients=PATIENTS, appointments=10, rate_limit=1_000_000, seed=3)
    app = create_app(config)
    with running_server(app) as url:
        yield Emulator(url=url, state=app.state.emulator)


class Worker:
    def __init__(self, url: str, key: str, home: Path) -> None:
        self.env = {
            **os.environ,
            "CB_DATABASE_URL": url,
            "CB_KEY": key,
            "CB_EXECUTOR": "crash-1",
            "CB_PAGE_SIZE": str(PAGE),
            "CHRONOBRIDGE_HOME": str(home),
        }
        self.log = home / "worker.log"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(HERE / "crash_worker.py")],
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("crash worker ready"), self.log.read_text()[-3000:]

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


def _fault_free_calls(emulator: Emulator, tmp_path: Path) -> int:
    async def run() -> int:
        db = await open_database(
            f"sqlite+aiosqlite:///{tmp_path / 'baseline.sqlite'}", keys=KeyRing.generate()
        )
        try:
            async with httpx2.AsyncClient(base_url=emulator.url) as http:
                token = await token_for(http)
            app = await make_app(db)
            clients = StaticClients(access_token=token, base_url=emulator.url)
            options = EngineOptions(use_batch=False, page_size=PAGE)
            engine = SyncEngine(db, clients, default_mapping(), options=options)
            before = emulator.stats_total()
            report = await engine.run(app, "patients")
            assert report.created == PATIENTS
            return emulator.stats_total() - before
        finally:
            await db.close()

    return asyncio.run(run())


def _pages_done(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        found = conn.execute(sa.select(sa.func.max(sync_runs.c.pages))).scalar()
    return int(found or 0)


def _finished(jobs: Jobs, wid: str) -> bool:
    found = jobs.client.list_workflows(workflow_ids=[wid], load_input=False, load_output=False)
    return bool(found) and str(found[0].status) in ("SUCCESS", "ERROR")


@pytest.mark.parametrize(
    "worker_db_kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_twenty_kills_lose_nothing_duplicate_nothing_and_cost_little(
    worker_database: WorkerDatabase, emulator: Emulator, tmp_path: Path
) -> None:
    baseline = _fault_free_calls(emulator, tmp_path)
    key = KeyRing.new_key()
    keys = KeyRing([key])
    url = worker_database.async_url.render_as_string(hide_password=False)

    async def connect() -> int:
        db = await open_database(url, keys=keys)
        try:
            return (await connect_app(db, emulator.url))[0]
        finally:
            await db.close()

    app = asyncio.run(connect())
    jobs = Jobs(worker_database, keys)
    jobs.prepare()
    wid = "sync:crash-test"
    worker = Worker(url, key, tmp_path)
    watch = worker_database.create_sync_engine()
    rng = random.Random(20261127)
    thresholds = sorted(rng.sample(range(2, PATIENTS // PAGE - 4), KILLS))
    before = emulator.stats_total()
    try:
        jobs.enqueue(
            Job(queue=SYNC, workflow_id=wid, partition_key=f"app-{app}"),
            sync_jobs.sync_resource,
            app,
            "patients",
            "auto",
            wid,
        )
        kills = []
        for threshold in thresholds:
            worker.start()
            deadline = time.monotonic() + 60
            while _pages_done(watch) < threshold:
                assert time.monotonic() < deadline, worker.log.read_text()[-3000:]
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.1))
            kills.append(_pages_done(watch))
            worker.kill()
        worker.start()
        deadline = time.monotonic() + 120
        while not _finished(jobs, wid):
            assert time.monotonic() < deadline, worker.log.read_text()[-3000:]
            time.sleep(0.1)
        status = str(jobs.client.list_workflows(workflow_ids=[wid])[0].status)
    finally:
        worker.kill()
        watch.dispose()
        jobs.close()
    crashed_calls = emulator.stats_total() - before
    summary = asyncio.run(_check(url, keys, app, emulator))
    summary.update(
        baseline_calls=baseline, crash_calls=crashed_calls, kills_at_pages=kills, status=status
    )
    (tmp_path / "crash-summary.json").write_text(json.dumps(summary))
    print("crash test:", json.dumps(summary))
    assert status == "SUCCESS"
    assert summary["records"] == PATIENTS
    assert summary["digests_match"]
    assert summary["events"] == PATIENTS
    assert summary["model_rows"] == PATIENTS
    assert summary["runs"] == 1
    assert summary["pages"] == PATIENTS // PAGE
    assert summary["run_records"] == PATIENTS
    assert crashed_calls <= 1.1 * baseline, summary


async def _check(url: str, keys: KeyRing, app: int, emulator: Emulator) -> dict[str, object]:
    db = await open_database(url, keys=keys, migrate=False)
    try:
        stored = await Records(db).digests(app_id=app, resource="patients")
        runs = await SyncRuns(db).recent(app_id=app, resource="patients")
        return {
            "records": len(stored),
            "digests_match": stored == expected_digests(emulator.state, "patients"),
            "events": await ChangeEvents(db).count(app_id=app, resource="patients"),
            "model_rows": await ModelRows(db).count(app_id=app, model="patient"),
            "runs": len(runs),
            "pages": runs[0].pages if runs else 0,
            "run_records": runs[0].records if runs else 0,
            "run_calls": runs[0].calls if runs else 0,
        }
    finally:
        await db.close()
