"""`chronobridge serve` and `chronobridge webhooks` as an operator runs them, against the
emulator on a real socket: the ready line, `webhooks setup` registering and verifying the
webhook, the emulator's changes processed into the store, the log, reprocessing, an audited
payload read, health and metrics, refused requests in `webhooks log --refused`, and a clean
stop on SIGTERM; no secret in any output."""

from __future__ import annotations

import asyncio
import json
import time
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

WEBHOOK_SECRET = "serve-cli-webhook-secret"


async def _connect(url: str, keys: str) -> None:
    db = await open_database(url, keys=KeyRing(keys.split(",")))
    try:
        app = await Apps(db).by_client_id(DEFAULT_CLIENT_ID)
        assert app is not None
        services = Services(db=db)
        probe = await probe_authorization(services, await start_authorization(services, app))
        assert probe.callback is not None
        await complete_authorization(services, probe.callback)
    finally:
        await db.close()


def _log(env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    done = cli(env, "webhooks", "log", "--format", "json", *args)
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows


def _wait(condition: Any, within: float = 60.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


@pytest.mark.slow
def test_serve_and_webhooks_commands_end_to_end(tmp_path: Path) -> None:
    keys = KeyRing.new_key()
    url = f"sqlite+aiosqlite:///{tmp_path / 'serve.sqlite'}"
    with running_server(create_emulator(emulator_config())) as emulator_url:
        env = hub_env(tmp_path, url, keys, client_id=DEFAULT_CLIENT_ID,
                      client_secret=DEFAULT_CLIENT_SECRET, drchrono_url=emulator_url,
                      webhook_secret=WEBHOOK_SECRET)  # fmt: skip
        with ServeProcess(env, free_port(), log=tmp_path / "serve.log") as serve:
            assert serve.lines[0].startswith(f"chronobridge serve listening on {serve.url}")
            asyncio.run(_connect(url, keys))
            setup = cli(env, "webhooks", "setup", "--public-url", serve.url)
            assert setup.returncode == 0, setup.stderr
            assert f"Callback URL  {serve.url}/webhooks/drchrono" in setup.stdout
            assert "verified: deliveries start now" in setup.stdout
            assert WEBHOOK_SECRET not in setup.stdout  # only with --show-secret
            httpx2.post(f"{emulator_url}/_emulator/churn", json={"changes": 3})
            rows = _wait(lambda: [r for r in _log(env) if r["status"] in ("done", "duplicate")])
            first = rows[0]
            assert first["verified"] is True
            assert first["signature_mode"] == "secret"
            assert "payload" not in first
            again = cli(env, "webhooks", "reprocess", first["delivery_id"])
            assert again.returncode == 0, again.stderr
            assert "reprocessing 1 deliveries" in again.stdout
            _wait(lambda: any(r["workflow_id"].count(":") == 3 and r["status"] != "received"
                              for r in _log(env)))  # fmt: skip
            shown = _log(env, "--show-payload", "--limit", "1", "--reason", "acceptance test")
            assert json.loads(shown[0]["payload"])["object"]["id"]
            table = cli(env, "webhooks", "log")
            assert "EVENT" in table.stdout
            assert "total:" in table.stdout
            reconciled = cli(env, "webhooks", "reconcile", "patients", "tasks", "--format", "json")
            assert reconciled.returncode == 0, reconciled.stderr
            assert {r["resource"] for r in json.loads(reconciled.stdout)} == {"patients", "tasks"}
            with httpx2.Client(base_url=serve.url) as http:
                assert http.get("/healthz").json() == {"status": "ok", "worker": "embedded"}
                metrics = http.get("/metrics").text
                for n in range(3):  # a sender with the wrong secret
                    headers = {"content-type": "application/json",
                               "x-drchrono-event": "PATIENT_MODIFY",
                               "x-drchrono-signature": "not-the-secret",
                               "x-drchrono-delivery": f"wrong-{n}"}  # fmt: skip
                    refused = http.post("/webhooks/drchrono", content=b"{}", headers=headers)
                    assert refused.status_code == 403
            assert "chronobridge_webhook_requests_total" in metrics
            assert serve.terminate() == 0
            refusals = cli(env, "webhooks", "log", "--refused", "--format", "json")
            assert refusals.returncode == 0, refusals.stderr
            assert [(r["reason"], r["event"], r["count"]) for r in json.loads(refusals.stdout)] == [
                ("signature_mismatch", "PATIENT_MODIFY", 3)
            ]
            assert "signature_mismatch" in cli(env, "webhooks", "log", "--refused").stdout
    actions = sql.rows(url, "SELECT action, reason FROM audit_log")
    assert ("webhook.payload.view", "acceptance test") in actions
    output = "".join(serve.lines) + serve.stderr()
    assert WEBHOOK_SECRET not in output
    assert keys not in output


def test_an_unknown_status_and_missing_arguments_are_refused(tmp_path: Path) -> None:
    keys = KeyRing.new_key()
    env = hub_env(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite'}", keys)
    bad = cli(env, "webhooks", "log", "--status", "exploded")
    assert bad.returncode != 0
    assert "Unknown status exploded" in bad.stderr
    nothing = cli(env, "webhooks", "reprocess")
    assert nothing.returncode != 0
    assert "--failed" in nothing.stderr
