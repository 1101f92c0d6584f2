"""Storing a batch of verified deliveries in one transaction: the inbox writer's side.

The event loop verifies each request (headers, signature) and hands the writer an `Arrival`:
the ids, the event, which signature mode matched, when it arrived and the raw body. The writer
(the writer process, or a thread) does the rest of the work per delivery, off the event loop:
parse the body and find the object's id (a malformed body is refused, never stored), encrypt
it, then insert every delivery of the batch and enqueue their jobs in one transaction, so a
committed delivery always has its job and a rolled-back one has neither.

    store = BatchStore(engine, jobs, keys)
    store.store([(app_id, delivery_id, event, "secret", time.time(), body), ...])
    # -> ["stored", "duplicate", "object_id_missing", ...]: one outcome per arrival

An outcome is `stored`, `ignored` (a correctly signed event this hub does not know: kept, no
job) or `duplicate` (stored before: a redelivery, counted in `repeats`), all answered 200;
`unavailable` (answered 503); or the reason code of a 400 (the body).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from chronobridge.ingress._framing import Rejection, parse_body
from chronobridge.ingress.jobs import delivery_job, dispatch_deliveries, process_delivery
from chronobridge.store import KeyRing, NewDelivery, encrypt_payload, write_deliveries
from chronobridge.workers import WEBHOOKS, Job, Jobs, job_id

__all__ = [
    "ANSWERED",
    "DUPLICATE",
    "IGNORED",
    "STORED",
    "UNAVAILABLE",
    "Arrival",
    "BatchStore",
    "delivery_job_id",
]

log = logging.getLogger("chronobridge.ingress")

Arrival = tuple[int, str, str, str, float, bytes]
"""(app id, delivery id, event, signature mode that matched, arrival (epoch seconds), body)."""

STORED, IGNORED, DUPLICATE, UNAVAILABLE = "stored", "ignored", "duplicate", "unavailable"
ANSWERED = frozenset((STORED, IGNORED, DUPLICATE))
"""The outcomes answered 200."""


def delivery_job_id(app_id: int, delivery_id: str) -> str:
    """The processing job's workflow id: deterministic, so enqueueing twice is one job."""
    return job_id("webhook", app_id, delivery_id)


class BatchStore:
    """Stores batches of arrivals on a sync engine (one thread or process at a time)."""

    def __init__(self, engine: sa.Engine, jobs: Jobs, keys: KeyRing) -> None:
        self.engine = engine
        self.jobs = jobs
        self.keys = keys

    def store(self, arrivals: Sequence[Arrival]) -> list[str]:
        """One outcome per arrival, in order. Raises when the database refused the batch as a
        whole (locked, down, too slow): none of it is stored, every request gets 503."""
        prepared = [self._prepare(arrival) for arrival in arrivals]
        items = [item for item in prepared if isinstance(item, NewDelivery)]
        created, failed = self._write(items) if items else ({}, set())
        outcomes, answered = [], set()
        for item in prepared:
            if isinstance(item, str):
                outcomes.append(item)
            elif item.key in failed:
                outcomes.append(UNAVAILABLE)
            elif item.key in created and item.key not in answered:
                answered.add(item.key)
                outcomes.append(STORED if item.status == "received" else IGNORED)
            else:
                outcomes.append(DUPLICATE)
        return outcomes

    def _prepare(self, arrival: Arrival) -> NewDelivery | str:
        app_id, delivery_id, event, matched, arrived, body = arrival
        try:
            parsed = parse_body(body, event=event)
        except Rejection as rejection:
            return rejection.reason
        known = parsed.event is not None
        return NewDelivery(
            app_id=app_id,
            delivery_id=delivery_id,
            event=event,
            received_at=datetime.fromtimestamp(arrived, UTC),
            signature_mode=matched,
            payload=encrypt_payload(self.keys, app_id, delivery_id, body),
            payload_bytes=len(body),
            object_id=parsed.object_id,
            resource=parsed.event.resource if parsed.event is not None else None,
            status="received" if known else "ignored",
            workflow_id=delivery_job_id(app_id, delivery_id) if known else None,
        )

    def _write(self, items: list[NewDelivery]) -> tuple[dict[tuple[int, str], int], set[object]]:
        """The new rows' ids by key, and the keys that could not be stored. A batch refused for
        one of its items (a constraint) is written again item by item, so that a bad delivery
        fails alone."""
        try:
            return self._transaction(items), set()
        except (sa.exc.IntegrityError, sa.exc.DataError):
            if len(items) == 1:
                raise
        created: dict[tuple[int, str], int] = {}
        failed: set[object] = set()
        for item in items:
            try:
                created.update(self._transaction([item]))
            except (sa.exc.IntegrityError, sa.exc.DataError) as error:
                log.warning("A webhook delivery could not be stored (%s)", type(error).__name__)
                failed.add(item.key)
        return created, failed

    def _transaction(self, items: Sequence[NewDelivery]) -> dict[tuple[int, str], int]:
        with self.engine.begin() as conn:
            created = write_deliveries(conn, items)
            jobs = {created[item.key]: item.workflow_id for item in items if item.key in created}
            to_process = sorted(
                (row_id, workflow_id) for row_id, workflow_id in jobs.items() if workflow_id
            )
            if to_process:
                self._enqueue(conn, to_process)
        return created

    def _enqueue(self, conn: sa.Connection, rows: list[tuple[int, str]]) -> None:
        """A lone delivery gets its processing job at once (one enqueue either way, and one
        queue hop less: the usual case outside bursts); a batch of several gets one dispatch
        job, its id derived from the batch's first row, which gives each delivery its
        processing job (DBOS's enqueue costs more than everything else a delivery needs)."""
        if len(rows) == 1:
            row_id, workflow_id = rows[0]
            self.jobs.enqueue_in_sync_transaction(
                conn, delivery_job(workflow_id), process_delivery, row_id
            )
            return
        row_ids = [row_id for row_id, _ in rows]
        job = Job(queue=WEBHOOKS, workflow_id=job_id("webhook-batch", row_ids[0]))
        self.jobs.enqueue_in_sync_transaction(conn, job, dispatch_deliveries, row_ids)
