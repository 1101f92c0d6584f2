"""Helpers for the webhook ingress tests: a started hub web app, signed deliveries, counts.

- `started_hub(database_url, keyring, ...)`: the web app with its lifespan run, in-process
  (httpx2.ASGITransport) or on a real socket (`base_url`), one application registered with a
  webhook secret;
- `delivery(...)` / `signed_headers(...)`: DrChrono-shaped deliveries, signed in either mode;
- `inbox_rows(url)`, `job_ids(url)`: what the inbox and DBOS's queue hold, read with plain SQL.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx2

from chronobridge.ingress import SignatureMode
from chronobridge.store import Apps, AppSpec, Database, KeyRing, open_database
from chronobridge.web import ServeOptions, create_app
from chronobridge.workers import EncryptingSerializer
from support import sql

SECRET = "whsec-test-0123456789abcdef"
CLIENT_ID = "ingress-test-client"
HOOK = "/webhooks/drchrono"


@dataclass
class Hub:
    app: Any
    client: httpx2.AsyncClient
    db: Database
    url: str
    app_id: int
    secret: str = SECRET
    extra: dict[str, Any] = field(default_factory=dict)


async def register_app(
    db: Database, *, client_id: str = CLIENT_ID, secret: str | None = SECRET
) -> int:
    spec = AppSpec(
        name=client_id,
        client_id=client_id,
        client_secret="client-secret-" + client_id,
        redirect_uris=("http://127.0.0.1:8600/oauth/callback",),
        webhook_secret=secret,
    )
    return (await Apps(db).create(spec)).id


@contextlib.asynccontextmanager
async def started_hub(
    database_url: str,
    keyring: KeyRing,
    *,
    mode: SignatureMode = SignatureMode.ANY,
    **overrides: Any,
) -> AsyncIterator[Hub]:
    """The hub's web app, lifespan started, with one application (no worker: jobs queue up)."""
    db = await open_database(database_url, keys=keyring)
    app_id = await register_app(db)
    options = ServeOptions(
        database_url=database_url, keys=keyring, signature_mode=mode, sweep=False
    )
    for name, value in overrides.items():
        options = _replace(options, name, value)
    app = create_app(options)
    transport = httpx2.ASGITransport(app=app)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx2.AsyncClient(transport=transport, base_url="http://hub.test") as client,
        ):
            yield Hub(app=app, client=client, db=db, url=database_url, app_id=app_id)
    finally:
        await db.close()


def _replace(options: ServeOptions, name: str, value: Any) -> ServeOptions:
    from dataclasses import replace

    return replace(options, **{name: value})


def body_for(
    object_id: object = 42, *, extra: dict[str, Any] | None = None, receiver: Any = None
) -> bytes:
    document = {"receiver": receiver or {"id": 1}, "object": {"id": object_id, **(extra or {})}}
    return json.dumps(document).encode()


def hmac_of(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_headers(
    body: bytes,
    *,
    event: str = "PATIENT_MODIFY",
    delivery_id: str | None = None,
    secret: str = SECRET,
    mode: str = "secret",
) -> dict[str, str]:
    signature = secret if mode == "secret" else hmac_of(secret, body)
    return {
        "content-type": "application/json",
        "x-drchrono-event": event,
        "x-drchrono-signature": signature,
        "x-drchrono-delivery": delivery_id or str(uuid.uuid4()),
    }


def inbox_count(url: str) -> int:
    return int(sql.scalar(url, "SELECT count(*) FROM webhook_deliveries"))


def job_count(url: str) -> int:
    table = "workflow_status" if url.startswith("sqlite") else "dbos.workflow_status"
    return int(sql.scalar(url, f"SELECT count(*) FROM {table}"))  # noqa: S608  (a table name)


def dispatched_rows(url: str, keyring: KeyRing) -> list[int]:
    """The inbox rows handed to jobs by the receiver: the rows of its dispatch jobs, and the row
    of each processing job it enqueued directly (a lone delivery), decrypted from DBOS's stored
    inputs. Without a worker (nothing dispatched yet) each row appears once per job."""
    prefix = "" if url.startswith("sqlite") else "dbos."
    query = (
        f"SELECT s.name, i.inputs FROM {prefix}workflow_input i JOIN {prefix}workflow_status s "  # noqa: S608
        "ON s.workflow_uuid = i.workflow_uuid WHERE s.name IN "
        "('chronobridge.webhooks.dispatch', 'chronobridge.webhooks.process')"
    )
    serializer = EncryptingSerializer(keyring)
    stored = [(row[0], serializer.deserialize(row[1])) for row in sql.rows(url, query)]
    rows: list[int] = []
    for name, inputs in stored:
        first = inputs["args"][0]
        rows.extend(first if name.endswith("dispatch") else [first])
    return sorted(rows)


def job_ids(url: str) -> list[str]:
    table = "workflow_status" if url.startswith("sqlite") else "dbos.workflow_status"
    found = sql.rows(url, f"SELECT workflow_uuid FROM {table}")  # noqa: S608
    return sorted(str(row[0]) for row in found)
