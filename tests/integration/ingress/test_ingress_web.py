"""The rest of the web app: DrChrono's OAuth redirect completed at /oauth/callback, health and
metrics, and the emulator's HMAC signature mode end to end."""

from __future__ import annotations

import asyncio
import time

import httpx2
import pytest

from chronobridge.connections import Services, start_authorization
from chronobridge.emulator import create_app as create_emulator
from chronobridge.emulator._config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from chronobridge.store import Apps, AppSpec, Connections, KeyRing, open_database
from chronobridge.web import ServeOptions, create_app
from support.servers import free_port, running_server
from support.webhook_stack import emulator_config, webhook_stack

pytestmark = pytest.mark.parametrize("db_kind", ["sqlite"])


async def _authorize_url(url: str, keyring: KeyRing, emulator_url: str, redirect: str) -> str:
    db = await open_database(url, keys=keyring)
    try:
        app = await Apps(db).create(
            AppSpec(name="emu", client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET,
                    redirect_uris=(redirect,), drchrono_url=emulator_url)
        )  # fmt: skip
        return (await start_authorization(Services(db=db), app)).url
    finally:
        await db.close()


async def _usernames(url: str, keyring: KeyRing) -> list[str]:
    db = await open_database(url, keys=keyring)
    try:
        return [connection.username for connection in await Connections(db).list()]
    finally:
        await db.close()


def test_the_oauth_callback_completes_the_connection(database_url: str, keyring: KeyRing) -> None:
    port = free_port()
    redirect = f"http://127.0.0.1:{port}/oauth/callback"
    emulator = create_emulator(emulator_config(redirect_uris=(redirect,)))
    options = ServeOptions(
        database_url=database_url, keys=keyring, sweep=False, services=lambda db: Services(db=db)
    )
    with running_server(emulator) as emulator_url, running_server(create_app(options), port=port):
        url = asyncio.run(_authorize_url(database_url, keyring, emulator_url, redirect))
        with httpx2.Client(timeout=30) as http:
            consent = http.get(url)  # auto-approved: a redirect back to the hub
            assert consent.status_code == 302
            landed = http.get(consent.headers["location"])
            assert landed.status_code == 200
            assert "connected" in landed.text
            assert landed.headers["cache-control"] == "no-store"
            replay = http.get(consent.headers["location"])  # a state works once
            assert replay.status_code == 400
            code = consent.headers["location"].split("code=")[1].split("&")[0]
            assert code not in replay.text
            health = http.get(f"http://127.0.0.1:{port}/healthz")
            metrics = http.get(f"http://127.0.0.1:{port}/metrics")
    assert asyncio.run(_usernames(database_url, keyring)) == ["doctor1"]
    assert health.json() == {"status": "ok", "worker": "off"}
    assert metrics.headers["content-type"].startswith("text/plain")


def test_hmac_signed_deliveries_from_the_emulator(database_url: str, keyring: KeyRing) -> None:
    with webhook_stack(database_url, keyring, signature="hmac") as stack:
        stack.emulator("POST", "/_emulator/churn", {"changes": 3})
        stack.wait(lambda: stack.finished() >= 1)
        time.sleep(0.5)
        modes = {row[0] for row in stack.rows("SELECT signature_mode FROM webhook_deliveries")}
        assert modes == {"hmac"}
        assert stack.count("webhook_deliveries", "status = 'failed'") == 0
