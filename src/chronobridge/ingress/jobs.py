"""The processing job of one inbox delivery (queue `webhooks`).

    begin  -> the row is `processing`, one more attempt
    apply  -> fetch the current object by id at webhook priority and upsert it through the
              sync engine (or mark it deleted); the number of new change events
    finish -> `done` (new changes), `duplicate` (nothing new: a poll or another delivery saw
              it first) or `failed` (with the error's class; never its text)

`apply` is one step because its intermediate value is a patient record: step results are
stored, so they stay ids and counts. It is retried (5 attempts, 1 s doubling) for retriable
errors; fatal ones fail at once. A delivery that keeps failing ends `failed` in the webhook log
and the job itself ends normally, so a poison delivery never blocks the queue (WH-15);
`chronobridge webhooks reprocess` runs it again. When the API budget is spent the job sleeps
durably until the budget resumes (up to `BUDGET_WAITS` times) instead of failing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from dbos import DBOS

from chronobridge.errors import BudgetExhausted
from chronobridge.ingress import _context
from chronobridge.ingress._metrics import PROCESSED
from chronobridge.ingress._routing import route
from chronobridge.store import Inbox
from chronobridge.workers import step, workflow

__all__ = ["PROCESS", "begin_delivery", "finish_delivery", "process_delivery"]

log = logging.getLogger("chronobridge.ingress")

PROCESS = "chronobridge.webhooks.process"
APPLY_ATTEMPTS = 5
BUDGET_WAITS = 3
MAX_BUDGET_WAIT = 3600.0


@workflow(PROCESS)
async def process_delivery(row_id: int) -> str:
    """Process inbox row `row_id`; its final status."""
    event = await begin_delivery(row_id)
    if event is None:
        return "missing"
    try:
        outcome = await apply_delivery(row_id)
        for _ in range(BUDGET_WAITS):
            if "wait" not in outcome:
                break
            await DBOS.sleep_async(min(float(outcome["wait"]), MAX_BUDGET_WAIT))
            outcome = await apply_delivery(row_id)
    except Exception as error:
        return await finish_delivery(row_id, status="failed", error_class=failure_class(error))
    if "wait" in outcome:
        return await finish_delivery(row_id, status="failed", error_class="BudgetExhausted")
    changes = int(outcome["changes"])
    status = "done" if changes else "duplicate"
    return await finish_delivery(row_id, status=status, changes=changes)


@step()
async def begin_delivery(row_id: int) -> str | None:
    """Mark the row processing; its event name, or None when the row is gone."""
    processing = await _context.current()
    row = await Inbox(processing.db).start(row_id)
    return None if row is None else row.event


@step(attempts=APPLY_ATTEMPTS, interval_sec=1.0, backoff=2.0)
async def apply_delivery(row_id: int) -> dict[str, float]:
    """`{"changes": n}`, or `{"wait": seconds}` when the API budget is spent for now."""
    processing = await _context.current()
    row = await Inbox(processing.db).get(row_id)
    target = route(row.event) if row is not None else None
    if row is None or target is None:
        return {"changes": 0}
    try:
        return {"changes": await processing.apply(row, target)}
    except BudgetExhausted as spent:
        wait = (spent.resume_at - datetime.now(UTC)).total_seconds()
        return {"wait": max(wait, 1.0)}


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


def failure_class(error: BaseException) -> str:
    """The class name of what failed (a step's last error when its retries ran out)."""
    errors = getattr(error, "errors", None)
    if isinstance(errors, list) and errors and isinstance(errors[-1], BaseException):
        error = errors[-1]
    name = getattr(error, "type_name", None)  # a RecordedError replayed from the database
    return str(name) if isinstance(name, str) else type(error).__name__
