"""Scale-out as DESIGN §7 draws it, on PostgreSQL: a stateless `chronobridge serve --no-worker`
takes the webhooks, two `chronobridge worker` processes run every job (webhook processing,
the sync planner's polls), all against one database; the emulator's changes reach the store."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from chronobridge.connections import (
    Services,
    complete_authorization,
    probe_authorization,
    start_authorization,
)
from chronobridge.emulator import create_app as create_emulator
from chronobridge.emulator._config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from chronobridge.store import Apps, KeyRing, open_database
from support import sql
from support.serve_process import ServeProcess, cli, hub_env
from support.servers import free_port, running_server
from support.webhook_stack import emulator_config

WEBHOOK_SECRET = "scale-out-webhook-secret"
PROCESSED = "SELECT 1 FROM webhook_deliveries WHERE status IN ('done', 'duplicate')"


async def _connect(url: str, keys: str) -> None:
    db = await open_database(url, keys=KeyRing([keys]))
    try:
        app = await Apps(db).by_client_id(DEFAULT_CLIENT_ID)
        assert app is not None
        services = Services(db=db)
        probe = await probe_authorization(services, await start_authorization(services, app))
        assert probe.callback is not None
        await complete_authorization(services, probe.callback)
    finally:
        await db.close()


def _workers(env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    for name in ("scale-w1", "scale-w2"):
        log = (tmp_path / f"{name}.log").open("wb")
        yield subprocess.Popen(
            [sys.executable, "-m", "chronobridge", "worker", "--executor-id", name,
             "--polling-interval", "0.1"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _wait(condition: Callable[[], Any], within: float = 90.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("condition not met in time")


@pytest.mark.slow
@pytest.mark.parametrize("db_kind", ["postgres"])
def test_stateless_serve_and_two_workers_share_the_jobs(
    blank_database_url: str, tmp_path: Path
) -> None:
    url, keys = blank_database_url, KeyRing.new_key()
    with running_server(create_emulator(emulator_config())) as emulator_url:
        env = hub_env(tmp_path, url, keys, client_id=DEFAULT_CLIENT_ID,
                      client_secret=DEFAULT_CLIENT_SECRET, drchrono_url=emulator_url,
                      webhook_secret=WEBHOOK_SECRET)  # fmt: skip
        workers: list[subprocess.Popen[bytes]] = []
        with ServeProcess(env, free_port(), "--no-worker", log=tmp_path / "serve.log") as serve:
            asyncio.run(_connect(url, keys))
            workers = list(_workers(env, tmp_path))
            try:
                setup = cli(env, "webhooks", "setup", "--public-url", serve.url)
                assert setup.returncode == 0, setup.stderr
                httpx2.post(
                    f"{emulator_url}/_emulator/churn", json={"changes": 6}
                ).raise_for_status()
                assert _wait(lambda: sql.rows(url, PROCESSED))
                # The planner's schedule runs on the workers: polls fill the store on their own.
                _wait(lambda: sql.rows(url, "SELECT 1 FROM sync_runs WHERE status = 'done' "
                                         "AND resource = 'patients'"))  # fmt: skip
                events = sql.rows(url, "SELECT source FROM change_events")
                assert {"webhook", "poll"} <= {source for (source,) in events}
                owners = sql.rows(url, "SELECT DISTINCT executor_id FROM dbos.workflow_status "
                                    "WHERE status = 'SUCCESS'")  # fmt: skip
                assert {owner for (owner,) in owners} <= {"scale-w1", "scale-w2"}
                assert owners
            finally:
                for worker in workers:
                    worker.terminate()
                for worker in workers:
                    assert worker.wait(timeout=60) == 0
    for name in ("scale-w1", "scale-w2"):
        output = (tmp_path / f"{name}.log").read_text()
        assert "chronobridge worker ready" in output
        assert WEBHOOK_SECRET not in output
        assert keys not in output
