"""A delivery's way into the inbox on both databases: stored with its job in one commit,
duplicates answered 200 without a second row or job, PING and unknown events (WH-14), the
handshake and the signature modes, and several applications on one hub."""

from __future__ import annotations

import asyncio
import json

import pytest

from chronobridge.ingress import SignatureMode, verification_token
from chronobridge.store import Inbox, KeyRing
from support import sql
from support.ingress import (
    HOOK,
    SECRET,
    body_for,
    dispatched_rows,
    inbox_count,
    job_ids,
    register_app,
    signed_headers,
    started_hub,
)


async def test_a_delivery_is_stored_encrypted_with_its_job(
    database_url: str, keyring: KeyRing
) -> None:
    async with started_hub(database_url, keyring) as hub:
        body = body_for(1001, extra={"first_name": "Canary-Ffion"})
        headers = signed_headers(body, event="APPOINTMENT_MODIFY", delivery_id="d-100")
        answer = await hub.client.post(HOOK, content=body, headers=headers)
        assert (answer.status_code, answer.json()) == (200, {"status": "stored"})
        [row] = await Inbox(hub.db).recent()
        assert (row.event, row.delivery_id, row.object_id, row.resource) == (
            "APPOINTMENT_MODIFY", "d-100", "1001", "appointments",
        )  # fmt: skip
        assert (row.status, row.verified, row.signature_mode) == ("received", True, "secret")
        assert row.workflow_id == f"webhook:{hub.app_id}:d-100"
        assert await Inbox(hub.db).payload(row) == body
        assert job_ids(database_url) == [row.workflow_id]  # a lone delivery: its own job
        assert dispatched_rows(database_url, keyring) == [row.id]
    assert b"Canary-Ffion" not in _raw_inbox(database_url)


def _raw_inbox(url: str) -> bytes:
    return repr(sql.rows(url, "SELECT * FROM webhook_deliveries")).encode()


async def test_redeliveries_are_answered_200_and_stored_once(
    database_url: str, keyring: KeyRing
) -> None:
    async with started_hub(database_url, keyring) as hub:
        body = body_for(7)
        headers = signed_headers(body, delivery_id="same-delivery")
        answers = [await hub.client.post(HOOK, content=body, headers=headers) for _ in range(5)]
        together = await asyncio.gather(
            *(hub.client.post(HOOK, content=body, headers=headers) for _ in range(20))
        )
        statuses = [a.json()["status"] for a in [*answers, *together]]
        assert all(a.status_code == 200 for a in [*answers, *together])
        assert statuses.count("stored") == 1
        assert statuses.count("duplicate") == 24
        [row] = await Inbox(hub.db).recent()
        assert row.repeats == 24
        assert dispatched_rows(database_url, keyring) == [row.id]


async def test_ping_is_answered_and_leaves_nothing(database_url: str, keyring: KeyRing) -> None:
    async with started_hub(database_url, keyring) as hub:
        body = json.dumps({"receiver": {"id": 1}, "object": {}}).encode()
        for delivery in ("ping-1", None):
            headers = signed_headers(body, event="PING", delivery_id=delivery)
            if delivery is None:
                del headers["x-drchrono-delivery"]
            answer = await hub.client.post(HOOK, content=body, headers=headers)
            assert (answer.status_code, answer.json()) == (200, {"status": "ping"})
        assert inbox_count(database_url) == 0
        assert job_ids(database_url) == []


@pytest.mark.parametrize("mode", ["secret", "hmac"])
async def test_a_signed_unknown_event_is_recorded_as_ignored_a_forged_one_refused(
    database_url: str, keyring: KeyRing, mode: str
) -> None:
    """WH-14, the decision in docs/webhooks.md: a correctly signed event this hub does not know
    is answered 200 and logged `ignored`, with no job (a 4xx would make DrChrono send it three
    more times, to a hub that will never understand it); the same event without the right
    signature is a forgery like any other: 403, nothing stored."""
    async with started_hub(database_url, keyring) as hub:
        body = json.dumps({"receiver": {}, "object": {"something": "new"}}).encode()
        headers = signed_headers(body, event="INVOICE_TELEPORTED", delivery_id="u-1", mode=mode)
        answer = await hub.client.post(HOOK, content=body, headers=headers)
        assert (answer.status_code, answer.json()) == (200, {"status": "ignored"})
        forged = signed_headers(
            body, event="INVOICE_TELEPORTED", delivery_id="u-2", secret="not-the-secret", mode=mode
        )
        refused = await hub.client.post(HOOK, content=body, headers=forged)
        assert (refused.status_code, refused.json()) == (403, {"error": "signature_mismatch"})
        [row] = await Inbox(hub.db).recent()
        assert (row.delivery_id, row.status, row.resource, row.workflow_id) == (
            "u-1", "ignored", None, None,
        )  # fmt: skip
        assert job_ids(database_url) == []
        metrics = (await hub.client.get("/metrics")).text
        assert 'chronobridge_webhook_requests_total{outcome="ignored"}' in metrics


@pytest.mark.parametrize("db_kind", ["sqlite"])
async def test_aliases_and_every_catalog_event_are_accepted(
    database_url: str, keyring: KeyRing
) -> None:
    from chronobridge.catalog import CATALOG

    names = [event.name for event in CATALOG.events] + ["PATIENT_FLAG_MODIFY"]
    async with started_hub(database_url, keyring) as hub:
        for n, name in enumerate(names):
            body = body_for(n + 1)
            headers = signed_headers(body, event=name, delivery_id=f"e-{n}")
            answer = await hub.client.post(HOOK, content=body, headers=headers)
            assert answer.json() == {"status": "stored"}, name
        rows = await Inbox(hub.db).recent(limit=100)
        assert len(rows) == len(names) == 28
        assert {row.resource for row in rows} == {event.resource for event in CATALOG.events}


@pytest.mark.parametrize("db_kind", ["sqlite"])
async def test_the_handshake_answers_with_the_secret(database_url: str, keyring: KeyRing) -> None:
    async with started_hub(database_url, keyring) as hub:
        answer = await hub.client.get(HOOK, params={"msg": "abc"})
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        assert answer.json() == {"secret_token": verification_token(SECRET, "abc")}
        assert (await hub.client.get(HOOK)).status_code == 400
        named = await hub.client.get(f"{HOOK}/{hub.app_id}", params={"msg": "x"})
        assert named.json() == {"secret_token": verification_token(SECRET, "x")}
        assert (await hub.client.get(f"{HOOK}/nobody", params={"msg": "x"})).status_code == 404


@pytest.mark.parametrize("db_kind", ["sqlite"])
@pytest.mark.parametrize(
    ("mode", "accepted"),
    [
        (SignatureMode.SECRET, {"secret"}),
        (SignatureMode.HMAC, {"hmac"}),
        (SignatureMode.ANY, {"secret", "hmac"}),
    ],
)
async def test_signature_modes(
    database_url: str, keyring: KeyRing, mode: SignatureMode, accepted: set[str]
) -> None:
    async with started_hub(database_url, keyring, mode=mode) as hub:
        for sent in ("secret", "hmac"):
            body = body_for(5)
            headers = signed_headers(body, delivery_id=f"m-{sent}", mode=sent)
            answer = await hub.client.post(HOOK, content=body, headers=headers)
            assert answer.status_code == (200 if sent in accepted else 403), sent
        modes = {row.signature_mode for row in await Inbox(hub.db).recent()}
        assert modes == accepted


@pytest.mark.parametrize("db_kind", ["sqlite"])
async def test_several_applications_on_one_hub(database_url: str, keyring: KeyRing) -> None:
    async with started_hub(database_url, keyring) as hub:
        other = await register_app(hub.db, client_id="second-app", secret="second-secret")
        body = body_for(9)
        by_signature = signed_headers(body, delivery_id="x-1", secret="second-secret")
        assert (await hub.client.post(HOOK, content=body, headers=by_signature)).status_code == 200
        by_path = signed_headers(body, delivery_id="x-1")
        named = await hub.client.post(f"{HOOK}/{hub.app_id}", content=body, headers=by_path)
        assert named.json() == {"status": "stored"}  # same delivery id, other app: its own row
        wrong = signed_headers(body, delivery_id="x-2")  # the first app's secret, second's path
        refused = await hub.client.post(f"{HOOK}/second-app", content=body, headers=wrong)
        assert refused.status_code == 403
        rows = await Inbox(hub.db).recent()
        assert sorted((row.app_id, row.delivery_id) for row in rows) == sorted(
            [(other, "x-1"), (hub.app_id, "x-1")]
        )
        ambiguous = await hub.client.get(HOOK, params={"msg": "m"})
        assert ambiguous.status_code == 409  # two apps, no default: name the app in the URL
        second = await hub.client.get(f"{HOOK}/second-app", params={"msg": "m"})
        assert second.json() == {"secret_token": verification_token("second-secret", "m")}
