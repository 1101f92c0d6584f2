"""Operating the webhook log: reprocessing deliveries, reading a payload (audited), and the
setup of an application's webhook (what to enter in DrChrono's API page; registration and
verification against the emulator's control API).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import httpx2

from chronobridge.catalog import CATALOG
from chronobridge.errors import ConfigError, InvalidRequest, TransportError
from chronobridge.ingress.jobs import delivery_job, process_delivery
from chronobridge.store import (
    App,
    Apps,
    AuditEntry,
    AuditLog,
    Database,
    Inbox,
    StoredDelivery,
)
from chronobridge.workers import Jobs, job_id

__all__ = [
    "WebhookSetup",
    "ensure_webhook_secret",
    "is_emulator",
    "read_payload",
    "register_with_emulator",
    "reprocess",
    "setup_for",
]

HOOK_PATH = "/webhooks/drchrono"


async def reprocess(db: Database, jobs: Jobs, rows: Sequence[StoredDelivery]) -> list[str]:
    """Run the deliveries' jobs again, each under a new workflow id, its row back to
    `received` in the same transaction as the enqueue. Ignored deliveries (an event this hub
    does not know) are skipped. Returns the new workflow ids."""
    started: list[str] = []
    stamp = f"r{time.time_ns() // 1_000_000}"
    for row in rows:
        if row.status == "ignored":
            continue
        workflow_id = job_id("webhook", row.app_id, row.delivery_id, stamp)
        async with db.write() as tx:
            await Inbox(db).requeue(row.id, workflow_id=workflow_id, tx=tx)
            await jobs.enqueue_in_transaction(
                tx, delivery_job(workflow_id), process_delivery, row.id
            )
        started.append(workflow_id)
    return started


async def read_payload(
    db: Database, row: StoredDelivery, *, actor: str, reason: str | None
) -> bytes:
    """The delivery's raw body (patient data): the read is written to the audit log first."""
    entry = AuditEntry(
        actor=actor,
        action="webhook.payload.view",
        target_type="webhook_delivery",
        target_id=str(row.id),
        reason=reason,
        details={"delivery_id": row.delivery_id, "event": row.event, "app_id": row.app_id},
    )
    await AuditLog(db).append(entry)
    return await Inbox(db).payload(row)


@dataclass(frozen=True, kw_only=True)
class WebhookSetup:
    """What DrChrono's API page needs for one application's webhook."""

    app: App
    callback_url: str
    events: tuple[str, ...]
    secret_created: bool = False


def setup_for(app: App, public_url: str, *, named: bool, created: bool = False) -> WebhookSetup:
    """`named`: the callback names the application (several applications on one hub)."""
    base = public_url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise InvalidRequest("The public URL must start with http:// or https://.")
    path = f"{HOOK_PATH}/{app.client_id}" if named else HOOK_PATH
    events = tuple(event.name for event in CATALOG.events)
    return WebhookSetup(app=app, callback_url=base + path, events=events, secret_created=created)


async def ensure_webhook_secret(db: Database, app: App) -> tuple[App, bool]:
    """The application, with a webhook secret (a new random one when it had none)."""
    if app.webhook_secret:
        return app, False
    spec = replace(app, webhook_secret=secrets.token_urlsafe(32))
    updated = await Apps(db).update(app.id, spec)
    return updated, True


async def is_emulator(
    drchrono_url: str, *, transport: httpx2.AsyncBaseTransport | None = None
) -> bool:
    """Whether the application's DrChrono is chronobridge's emulator (its control API answers)."""
    try:
        async with httpx2.AsyncClient(transport=transport, timeout=5) as http:
            answer = await http.get(drchrono_url.rstrip("/") + "/_emulator/health")
    except httpx2.HTTPError:
        return False
    return answer.status_code == 200 and "now" in answer.text


async def register_with_emulator(
    setup: WebhookSetup,
    *,
    signature: str = "secret",
    events: Sequence[str] | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
) -> dict[str, object]:
    """PUT the webhook into the emulator; it runs the verification handshake at once. The
    answer: the registration without its secret (`verified`, `verification.reason`)."""
    app = setup.app
    if not app.webhook_secret:
        raise ConfigError(f"Application {app.name!r} has no webhook secret.")
    body = {
        "url": setup.callback_url,
        "secret": app.webhook_secret,
        "events": list(events) if events is not None else "all",
        "signature": signature,
        "active": True,
    }
    url = f"{app.drchrono_url.rstrip('/')}/_emulator/webhooks/{app.client_id}"
    try:
        async with httpx2.AsyncClient(transport=transport, timeout=30) as http:
            answer = await http.put(url, json=body)
    except httpx2.HTTPError as error:
        raise TransportError(
            f"The emulator at {app.drchrono_url} could not be reached ({type(error).__name__})"
        ) from None
    if answer.status_code >= 300:
        raise InvalidRequest(f"The emulator refused the webhook (HTTP {answer.status_code}).")
    registration: dict[str, object] = answer.json()
    return registration
