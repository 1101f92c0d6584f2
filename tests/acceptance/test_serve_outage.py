"""WH-12: an outage longer than DrChrono's retry window is recovered by one reconciliation.

The hub is in step with the emulator (a first full pass, then live webhooks). It goes down;
meanwhile the emulator makes 500 changes and deletes some records (an appointment's delete
sends a webhook, a patient's none), and its clock moves 8 hours, so every retry (+1 h, +3 h,
+7 h) fails too and is given up. The hub comes back, and one reconciliation pass later the store
equals the emulator: the same ids per resource and the same content digest per record, with
each missed change reported as having arrived only through reconciliation.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx2
import pytest

from chronobridge.connections import Services
from chronobridge.domain.mappings import default_mapping
from chronobridge.emulator import create_app as create_emulator
from chronobridge.emulator._config import DEFAULT_CLIENT_ID
from chronobridge.ingress import ReconcileResult, reconcile, webhook_resources
from chronobridge.store import KeyRing, Records, open_database
from chronobridge.sync import ConnectionClients, SyncEngine, plan_for
from chronobridge.sync._prepare import canonical_json, digest_of
from chronobridge.web import create_app
from support import sql
from support.ingress import SECRET
from support.servers import free_port, running_server
from support.webhook_stack import Stack, _prepare, emulator_config, hub_options

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_kind", ["sqlite"])]
HOURS = 8


async def _reconcile(url: str, keyring: KeyRing, app_id: int) -> list[ReconcileResult]:
    db = await open_database(url, keys=keyring)
    try:
        engine = SyncEngine(db, ConnectionClients(services=Services(db=db)), default_mapping())
        return await reconcile(engine, app_id)
    finally:
        await db.close()


async def _versions(url: str, keyring: KeyRing, app_id: int) -> dict[str, dict[str, object]]:
    """Each stored live record's DrChrono `updated_at`, as DrChrono wrote it."""
    db = await open_database(url, keys=keyring)
    try:
        out: dict[str, dict[str, object]] = {}
        for resource in webhook_resources():
            rows = await Records(db).page(app_id=app_id, resource=resource, limit=100_000)
            out[resource] = {row.external_id: row.payload.get("updated_at") for row in rows}
        return out
    finally:
        await db.close()


async def _stored(url: str, keyring: KeyRing, app_id: int) -> dict[str, dict[str, str]]:
    db = await open_database(url, keys=keyring)
    try:
        records = Records(db)
        return {r: await records.digests(app_id=app_id, resource=r) for r in webhook_resources()}
    finally:
        await db.close()


def _listed(
    http: httpx2.Client, base: str, token: str, resource: str
) -> dict[str, tuple[str, object]]:
    """Every record of `resource` as the emulator lists it now: id -> (digest, updated_at)."""
    plan = plan_for(resource)
    params: dict[str, Any] = {**plan.filters, **plan.backfill_filters, "page_size": 250}
    url: str | None = f"{base}/api/{resource}"
    found: dict[str, tuple[str, object]] = {}
    while url:
        page = http.get(url, params=params, headers={"Authorization": f"Bearer {token}"})
        assert page.status_code == 200, page.text
        body = page.json()
        live = [r for r in body["results"] if r.get("deleted_flag") is not True]  # kept, flagged
        found.update(
            {str(r["id"]): (digest_of(canonical_json(r)), r.get("updated_at")) for r in live}
        )
        url, params = body.get("next"), {}
    return found


def _reported(url: str, *, after: int) -> tuple[dict[str, set[str]], Counter[str]]:
    """The records that got a change event after `after`, and the events, by resource."""
    query = "SELECT resource, external_id FROM change_events WHERE id > :after"
    rows = sql.rows(url, query, after=after)
    out: dict[str, set[str]] = {}
    for resource, external_id in rows:
        out.setdefault(resource, set()).add(external_id)
    return out, Counter(resource for resource, _ in rows)


def _given_up(stack: Stack) -> bool:
    """Every delivery of the outage failed its original attempt and all three retries."""
    log = stack.emulator("GET", f"/_emulator/webhooks/{DEFAULT_CLIENT_ID}/deliveries")
    deliveries = log if isinstance(log, list) else log["deliveries"]
    waiting = [d for d in deliveries if d["status"] in ("pending", "retrying")]
    failed = [d for d in deliveries if d["status"] == "failed"]
    return not waiting and len(failed) >= 500 and all(d["retries_done"] == 3 for d in failed)


def test_an_eight_hour_outage_is_recovered_by_one_reconciliation(
    database_url: str, keyring: KeyRing
) -> None:
    hub_port = free_port()
    with running_server(create_emulator(emulator_config())) as emulator_url:
        app_id = asyncio.run(_prepare(database_url, keyring, emulator_url))
        asyncio.run(_reconcile(database_url, keyring, app_id))  # the first full pass
        with httpx2.Client(timeout=60) as http:
            stack = Stack(emulator_url, f"http://127.0.0.1:{hub_port}", database_url,
                          keyring, app_id, http)  # fmt: skip
            with running_server(create_app(hub_options(database_url, keyring)), port=hub_port):
                registration = stack.emulator(
                    "PUT", f"/_emulator/webhooks/{DEFAULT_CLIENT_ID}",
                    {"url": f"{stack.hub_url}/webhooks/drchrono", "secret": SECRET},
                )  # fmt: skip
                assert registration["verified"]
                stack.emulator("POST", "/_emulator/churn", {"changes": 10})
                stack.wait(lambda: stack.finished() and stack.finished()
                           == stack.count("webhook_deliveries"))  # fmt: skip
            # --- the hub is down ------------------------------------------------------------
            before_outage = asyncio.run(_versions(database_url, keyring, app_id))
            changes = stack.emulator("POST", "/_emulator/churn", {"changes": 500})["changes"]
            assert len(changes) == 500
            listed = stack.api("GET", "/api/appointments?since=2000-01-01&page_size=2")
            for appointment in listed["results"]:
                stack.api("DELETE", f"/api/appointments/{appointment['id']}")
            patient = stack.api("GET", "/api/patients?page_size=1")["results"][0]["id"]
            stack.api("DELETE", f"/api/patients/{patient}")
            for _ in range(HOURS):
                stack.emulator("POST", "/_emulator/clock", {"advance": 3600})
            stack.wait(lambda: _given_up(stack), within=120)
            before = stack.count("webhook_deliveries")
            marker = int(stack.scalar("SELECT coalesce(max(id), 0) FROM change_events"))
            # --- the hub is back ---------------------------------------------------------------
            with running_server(create_app(hub_options(database_url, keyring)), port=hub_port):
                results = asyncio.run(_reconcile(database_url, keyring, app_id))
            assert stack.count("webhook_deliveries") == before  # nothing came by webhook
            token = stack.emulator(
                "POST",
                "/_emulator/oauth/token",
                {"client_id": DEFAULT_CLIENT_ID, "user": "doctor1"},
            )["access_token"]
            emulator_view = {r: _listed(http, emulator_url, token, r) for r in webhook_resources()}
    stored = asyncio.run(_stored(database_url, keyring, app_id))
    for resource in webhook_resources():
        digests = {key: value[0] for key, value in emulator_view[resource].items()}
        assert stored[resource] == digests, resource  # count and every digest
    assert {r.status.value for r in results} == {"done"}
    reported, events = _reported(database_url, after=marker)
    for result in results:  # every record the outage changed, and only those, is reported
        now, then = emulator_view[result.resource], before_outage[result.resource]
        # A new version is a new `updated_at` (the dedupe key); the same one with other
        # content (a field DrChrono derives from another record) is stored, not announced.
        changed = {key for key, (_, stamp) in now.items() if key not in then or then[key] != stamp}
        gone = then.keys() - now.keys()
        assert reported.get(result.resource, set()) == changed | gone, result.resource
        # Exactly the events the pass inserted (nothing else wrote any: every delivery of the
        # outage was given up). An appointment deleted in DrChrono is read flagged, at a new
        # version: its new version and its deletion are two events.
        assert result.only_here == events[result.resource], result.resource
    assert sum(result.deleted for result in results) == 3  # two appointments, one patient
    assert sum(result.only_here for result in results) > 150
