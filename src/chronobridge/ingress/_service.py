"""Starting the ingress in a web process: the inbox writer, the application secrets, the
receiver, and a sweep of deliveries whose job went missing.

    async with open_receiver(db, jobs, database_url=url) as receiver:
        ...                                  # serve requests

The job is enqueued by function (`process_delivery`), so this module imports the workflow
module: any process that enqueues also knows the workflow's registered name.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import sqlalchemy as sa

from chronobridge.ingress._apps import WebhookApps
from chronobridge.ingress._receiver import WebhookReceiver
from chronobridge.ingress._signature import SignatureMode
from chronobridge.ingress._writer import Enqueue, InboxWriter
from chronobridge.ingress.jobs import delivery_job, dispatch_deliveries, process_delivery
from chronobridge.store import Database, Inbox, make_sync_engine
from chronobridge.workers import WEBHOOKS, Job, Jobs, job_id

__all__ = ["enqueuer", "open_receiver", "sweep_inbox"]

log = logging.getLogger("chronobridge.ingress")


def enqueuer(jobs: Jobs) -> Enqueue:
    """One dispatch job per committed batch, its id derived from the batch's first row."""

    def enqueue(conn: sa.Connection, row_ids: list[int]) -> None:
        job = Job(queue=WEBHOOKS, workflow_id=job_id("webhook-batch", row_ids[0]))
        jobs.enqueue_in_sync_transaction(conn, job, dispatch_deliveries, row_ids)

    return enqueue


@contextlib.asynccontextmanager
async def open_receiver(
    db: Database,
    jobs: Jobs,
    *,
    database_url: str,
    mode: SignatureMode = SignatureMode.ANY,
    default_client_id: str | None = None,
    ack_timeout: float = 1.5,
    sweep: bool = True,
) -> AsyncIterator[WebhookReceiver]:
    engine = make_sync_engine(database_url, busy_timeout=ack_timeout)
    writer = InboxWriter(engine, enqueuer(jobs))
    receiver = WebhookReceiver(
        apps=WebhookApps(db, default_client_id=default_client_id),
        writer=writer,
        keys=db.keys,
        mode=mode,
        ack_timeout=ack_timeout,
    )
    sweeper = asyncio.create_task(sweep_inbox(db, jobs)) if sweep else None
    try:
        yield receiver
    finally:
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sweeper
        await writer.close()


async def sweep_inbox(db: Database, jobs: Jobs, *, page: int = 500) -> int:
    """Enqueue the job of every delivery still `received`. Workflow ids are deterministic, so a
    job that exists (queued, running or finished) is not created twice: only a delivery whose
    job went missing (restored backup, reset job tables) gets one. Returns how many it saw."""
    inbox, seen, before = Inbox(db), 0, None
    while True:
        rows = await inbox.recent(statuses=["received"], limit=page, before_id=before)
        for row in rows:
            if row.workflow_id is not None:
                await jobs.enqueue_async(delivery_job(row.workflow_id), process_delivery, row.id)
        seen += len(rows)
        if len(rows) < page:
            break
        before = rows[-1].id
    if seen:
        log.info("Inbox sweep: %s deliveries waiting for processing, jobs ensured", seen)
    return seen
