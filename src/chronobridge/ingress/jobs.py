"""The jobs of the inbox (queue `webhooks`): a dispatch per committed batch, then the
processing job of each delivery.

The receiver commits each batch of deliveries with one `dispatch_deliveries` job; it gives every
delivery its own `process_delivery` job, under the deterministic id `webhook:<app>:<delivery>`
(so a delivery is processed once however often it is dispatched, swept or redelivered).

A lone delivery (a batch of one, the usual case outside bursts) is enqueued with its
processing job directly, without a dispatch: one queue hop less on the way to the store.

The processing of one delivery:

    apply  -> the row is `processing`, one more attempt; fetch the current object by id at
              webhook priority and upsert it through the sync engine (or mark it deleted):
              the number of new change events; or the failure's class and how long to wait
              before the next attempt
    finish -> `done` (new changes), `duplicate` (nothing new: a poll or another delivery saw
              it first) or `failed` (with the error's class and the attempt count; never text)

`apply` is one step because its intermediate value is a patient record: step results are
stored, so they stay ids, counts and class names. Attempts are counted by the workflow, not by
DBOS's step retries, so that the webhook log shows them and the backoff comes from the
process's settings (`Processing.retry_seconds`, doubling): a retriable failure is tried
`Processing.attempts` times in all, a fatal one (a connection that needs reconnecting, a
permission) once. The job then ends normally with the delivery `failed` in the log, so a poison
delivery never blocks the others (WH-15); `chronobridge webhooks reprocess` runs it again.
When the API budget is spent the job sleeps durably until it resumes instead (at most
`BUDGET_WAITS` times).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from dbos import DBOS

from chronobridge.errors import BudgetExhausted, HubError
from chronobridge.ingress import _context
from chronobridge.ingress._metrics import PROCESSED
from chronobridge.ingress._routing import route
from chronobridge.store import Inbox
from chronobridge.workers import WEBHOOKS, Job, current_runtime, step, workflow

__all__ = [
    "DISPATCH",
    "PROCESS",
    "delivery_job",
    "dispatch_deliveries",
    "process_delivery",
]

log = logging.getLogger("chronobridge.ingress")

PROCESS = "chronobridge.webhooks.process"
DISPATCH = "chronobridge.webhooks.dispatch"
BUDGET_WAITS = 3
MAX_WAIT = 3600.0

Outcome = dict[str, str | float | bool]


def delivery_job(workflow_id: str) -> Job:
    return Job(queue=WEBHOOKS, workflow_id=workflow_id)


@workflow(DISPATCH)
async def dispatch_deliveries(row_ids: list[int]) -> int:
    """Give each delivery of a committed batch its processing job; how many were new."""
    return await enqueue_deliveries(row_ids)


@step()
async def enqueue_deliveries(row_ids: list[int]) -> int:
    """One transaction; ids are deterministic, so running this step again enqueues nothing."""
    processing = await _context.current()
    jobs = current_runtime().jobs
    rows = await Inbox(processing.db).many(row_ids)
    async with processing.db.write() as tx:
        for row in rows:
            if row.status == "received" and row.workflow_id is not None:
                job = delivery_job(row.workflow_id)
                await jobs.enqueue_in_transaction(tx, job, process_delivery, row.id)
    return len(rows)


@workflow(PROCESS)
async def process_delivery(row_id: int) -> str:
    """Process inbox row `row_id`; its final status."""
    attempt, budget_waits = 0, 0
    while True:
        outcome = await apply_delivery(row_id, attempt)
        if outcome.get("missing"):
            return "missing"
        if "changes" in outcome:
            changes = int(outcome["changes"])
            status = "done" if changes else "duplicate"
            return await finish_delivery(row_id, status=status, changes=changes)
        if outcome.get("budget") and budget_waits < BUDGET_WAITS:
            budget_waits += 1
        elif outcome.get("retry") and not outcome.get("budget"):
            attempt += 1
        else:
            return await finish_delivery(row_id, status="failed", error_class=str(outcome["error"]))
        await DBOS.sleep_async(min(float(outcome["wait"]), MAX_WAIT))


@step(attempts=1)
async def apply_delivery(row_id: int, attempt: int) -> Outcome:
    """`{"changes": n}`; or `{"error": class, "retry": bool, "wait": s}` (and `"budget": True`
    when the API budget is spent until `wait` seconds from now); `{"missing": True}` when the
    row is gone."""
    processing = await _context.current()
    row = await Inbox(processing.db).begin_attempt(row_id)
    if row is None:
        return {"missing": True}
    target = route(row.event)
    if target is None:
        return {"changes": 0}
    try:
        return {"changes": await processing.apply(row, target)}
    except BudgetExhausted as spent:
        wait = (spent.resume_at - datetime.now(UTC)).total_seconds()
        return {"error": "BudgetExhausted", "budget": True, "retry": True, "wait": max(wait, 1.0)}
    except Exception as error:
        retry = attempt + 1 < processing.attempts and _retriable(error)
        wait = processing.retry_seconds * 2**attempt
        return {"error": type(error).__name__, "retry": retry, "wait": wait}


@step()
async def finish_delivery(
    row_id: int, *, status: str, changes: int | None = None, error_class: str | None = None
) -> str:
    processing = await _context.current()
    row = await Inbox(processing.db).finish(
        row_id, status=status, changes=changes, error_class=error_class
    )
    if row is not None:
        PROCESSED.labels(status, row.event).inc()
        if status == "failed":
            log.warning(
                "Webhook delivery %s (%s) failed after %s attempts: %s",
                row.delivery_id,
                row.event,
                row.attempts,
                error_class,
            )
    return status


def _retriable(error: BaseException) -> bool:
    return not isinstance(error, HubError) or error.retriable
