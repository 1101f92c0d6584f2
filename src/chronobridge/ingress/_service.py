"""Starting the ingress in a web process: the inbox writer, the application secrets, the
receiver, and a sweep of deliveries whose job went missing.

Each delivery is committed with a job that gives it its processing job, so a delivery still
`received` a while later lost that job: the dispatch failed for good, or the job tables were
reset or restored from an older backup. The sweep runs at start for every such delivery, then
every `sweep_every` seconds for those received more than `sweep_age` seconds ago (younger ones
are most likely just waiting for their dispatch). Processing ids are deterministic, so a
delivery whose job exists is never given a second, and serve replicas sweeping the same inbox
at once do no harm.

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
from datetime import UTC, datetime, timedelta

from chronobridge.ingress._apps import WebhookApps
from chronobridge.ingress._inbox_batch import BatchStore
from chronobridge.ingress._receiver import WebhookReceiver
from chronobridge.ingress._refusals import RefusalLog, flush_periodically
from chronobridge.ingress._signature import SignatureMode
from chronobridge.ingress._writer import Backend, InboxWriter, ThreadBackend
from chronobridge.ingress._writer_process import WriterProcess
from chronobridge.ingress.jobs import delivery_job, process_delivery
from chronobridge.store import Database, Inbox, make_sync_engine
from chronobridge.workers import Jobs

__all__ = [
    "REFUSALS_EVERY",
    "SWEEP_AGE",
    "SWEEP_EVERY",
    "open_receiver",
    "sweep_inbox",
    "sweep_periodically",
]

log = logging.getLogger("chronobridge.ingress")

SWEEP_EVERY = 60.0
"""Seconds between two sweeps of deliveries whose job went missing."""
SWEEP_AGE = 30.0
"""A delivery is swept once it has waited this long in `received`."""
REFUSALS_EVERY = 15.0
"""Seconds between two writes of the refusal log's finished minutes."""


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
    writer_process: bool = False,
    sweep_every: float = SWEEP_EVERY,
    sweep_age: float = SWEEP_AGE,
    refusals_every: float = REFUSALS_EVERY,
) -> AsyncIterator[WebhookReceiver]:
    """The receiver, with its writer (in a process of its own with `writer_process`, else
    in a thread), the inbox sweep and the refusal log's flusher (the refusals counted until the
    end are written when the block ends)."""
    backend = await _backend(db, jobs, database_url, ack_timeout, process=writer_process)
    writer = InboxWriter(backend, ack_timeout=ack_timeout)
    refusals = RefusalLog()
    receiver = WebhookReceiver(
        apps=WebhookApps(db, default_client_id=default_client_id),
        writer=writer,
        mode=mode,
        refusals=refusals,
    )
    tasks = [asyncio.create_task(flush_periodically(db, refusals, every=refusals_every))]
    if sweep:
        sweeper = sweep_periodically(db, jobs, every=sweep_every, age=sweep_age)
        tasks.append(asyncio.create_task(sweeper))
    try:
        yield receiver
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await writer.close()


async def _backend(
    db: Database, jobs: Jobs, database_url: str, ack_timeout: float, *, process: bool
) -> Backend:
    if not process:
        engine = make_sync_engine(database_url, busy_timeout=ack_timeout)
        return ThreadBackend(BatchStore(engine, jobs, db.keys))
    writer = WriterProcess(database_url=database_url, keys=db.keys, busy_timeout=ack_timeout)
    await writer.start()
    return writer


async def sweep_periodically(db: Database, jobs: Jobs, *, every: float, age: float) -> None:
    """Sweep now (every delivery still `received`), then every `every` seconds (those older
    than `age`), until cancelled; a failed sweep is logged and tried again next time."""
    older_than = 0.0
    while True:
        try:
            await sweep_inbox(db, jobs, older_than=older_than)
        except Exception as error:  # the database may be away for a while: keep sweeping
            log.warning("Inbox sweep failed (%s); trying again later", type(error).__name__)
        older_than = age
        await asyncio.sleep(every)


async def sweep_inbox(db: Database, jobs: Jobs, *, page: int = 500, older_than: float = 0.0) -> int:
    """Give its processing job to every delivery still `received` (and received more than
    `older_than` seconds ago) that has none; how many got one. The jobs that exist are read in
    one query per page, so a backlog waiting for workers (serve --no-worker, workers down)
    costs a read per sweep, not an enqueue per delivery; ids are deterministic, so a job
    created meanwhile is not doubled either."""
    inbox, given, before = Inbox(db), 0, None
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than) if older_than > 0 else None
    while True:
        rows = await inbox.recent(
            statuses=["received"], limit=page, before_id=before, received_before=cutoff
        )
        wanted = {row.workflow_id: row.id for row in rows if row.workflow_id is not None}
        existing = await asyncio.to_thread(_existing, jobs, list(wanted))
        for workflow_id, row_id in wanted.items():
            if workflow_id not in existing:
                await jobs.enqueue_async(delivery_job(workflow_id), process_delivery, row_id)
                given += 1
        if len(rows) < page:
            break
        before = rows[-1].id
    if given:
        log.info("Inbox sweep: %s waiting deliveries got their processing job", given)
    return given


def _existing(jobs: Jobs, workflow_ids: list[str]) -> set[str]:
    if not workflow_ids:
        return set()
    found = jobs.client.list_workflows(
        workflow_ids=workflow_ids, load_input=False, load_output=False
    )
    return {status.workflow_id for status in found}
