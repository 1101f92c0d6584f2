"""Submitting a practice-model change: the outbox row, then its job or an inline run.

    result = await submit(services, change, app_id=1, connection_id=3)            # the workers
    result = await submit(services, change, app_id=1, connection_id=3, inline=True)  # the CLI

The row is keyed by the plan's idempotency key, so submitting the same change again is the
same row: `done` is answered as it is (no second request), a refused or failed one is tried
again (the caller asked again: it is not a blind retry), a queued one is left to its job. The
row and its job are written in one transaction (the job exists if and only if the row does).

An update whose key matches a `done` row *older* than another write-back of the same record
(X, then Y, then X again) is a new change: it gets a key of its own.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.domain.budget import Priority
from chronobridge.domain.writeback import ModelChange, RequestPlan, plan
from chronobridge.store import NewWriteback, StoredWriteback, WritebackStatus
from chronobridge.writeback._executor import Attempt, execute
from chronobridge.writeback._outcome import WritebackResult
from chronobridge.writeback._services import WritebackServices
from chronobridge.writeback._values import encode_values
from chronobridge.writeback._workflow import workflow_id

__all__ = ["enqueue", "result_of", "run_inline", "submit"]


async def submit(
    services: WritebackServices,
    change: ModelChange,
    *,
    app_id: int,
    connection_id: int | None,
    priority: Priority = Priority.INTERACTIVE,
    force: bool = False,
    inline: bool = False,
) -> WritebackResult:
    """Record the change in the outbox and send it (inline) or queue its job."""
    request = await _plan(services, change, app_id, connection_id, priority)
    key = request.idempotency_key if request else _plain_key(app_id, change)
    new = _new(change, app_id, connection_id, priority, force=force, key=key)
    return await _record(services, new, inline=inline, rekey=True)


async def _record(
    services: WritebackServices, new: NewWriteback, *, inline: bool, rekey: bool
) -> WritebackResult:
    queue = not inline and services.enqueue is not None
    if queue and services.enqueue is not None:
        await services.enqueue.prepare()
    async with services.db.write() as tx:
        stored, fresh = await services.outbox.record(new, tx=tx, now=services.now())
        if not fresh and stored.final and stored.status is not WritebackStatus.DONE:
            force = new.force or stored.force
            stored = await services.outbox.requeue(
                stored.id, force=force, tx=tx, now=services.now()
            )
            fresh = True  # asked again: a new submission of the same row
        if fresh and queue:
            await enqueue(services, stored, tx=tx)  # the row and its job commit together
    if not fresh and stored.status is WritebackStatus.DONE:
        newer = await services.outbox.newer_for(stored) if rekey else None
        if newer is None:
            return await result_of(services, stored)
        return await _record(services, _rekeyed(new, newer), inline=inline, rekey=False)
    if not queue:
        return await run_inline(services, stored.id)
    return await result_of(services, await _get(services, stored.id))


def _rekeyed(new: NewWriteback, newer: int) -> NewWriteback:
    """X, then Y, then X again: the third is a change of its own, not the first one's echo."""
    key = hashlib.sha256(f"{new.idempotency_key}:{newer}".encode()).hexdigest()[:32]
    return replace(new, idempotency_key=key)


async def enqueue(
    services: WritebackServices, stored: StoredWriteback, *, tx: AsyncConnection | None = None
) -> str | None:
    """Queue the row's job (its id names the submission, so a resubmission is a new job)."""
    if services.enqueue is None:
        return None
    if tx is None:
        await services.enqueue.prepare()
    job = workflow_id(stored.id, stored.submissions)
    async with services.db.write(tx) as conn:
        await services.enqueue(conn, stored.id, job, Priority(stored.priority))
        await services.outbox.set_workflow(stored.id, job, tx=conn)
    return job


async def run_inline(services: WritebackServices, writeback_id: int) -> WritebackResult:
    """Send now, a few times for 429/5xx/network; what still fails goes to the workers. When
    another execution holds the row (the same change submitted twice at once), wait for it."""
    settings = services.settings
    for number in range(settings.inline_attempts):
        attempt = await execute(services, writeback_id)
        if attempt.again and attempt.stored.status is WritebackStatus.SENDING:
            attempt = await _settled_elsewhere(services, writeback_id)
        if not attempt.again:
            return await result_of(services, attempt.stored)
        wait = attempt.retry_after if attempt.retry_after is not None else 0.5 * 2**number
        if wait > settings.inline_retry_cap or number + 1 == settings.inline_attempts:
            break
        await services.sleep(wait)
    current = await _get(services, writeback_id)
    if current.status is WritebackStatus.QUEUED:
        await enqueue(services, current)
    return await result_of(services, await _get(services, writeback_id))


async def _settled_elsewhere(services: WritebackServices, writeback_id: int) -> Attempt:
    """Poll the row another execution holds until it settles, is let go, or we give up."""
    started, pause = services.now(), services.settings.poll_interval
    while True:
        current = await _get(services, writeback_id)
        if current.final:
            return Attempt(stored=current)
        waited = (services.now() - started).total_seconds()
        if (
            current.status is not WritebackStatus.SENDING
            or waited > services.settings.wait_for_create
        ):
            return Attempt(stored=current, again=True)
        await services.sleep(pause)
        pause = min(pause * 1.5, 1.0)


async def result_of(services: WritebackServices, stored: StoredWriteback) -> WritebackResult:
    review = None
    if stored.status is WritebackStatus.REVIEW:
        found = await services.reviews.for_writeback(stored.id)
        review = found.id if found is not None else None
    return WritebackResult.of(stored, review_id=review)


async def _plan(
    services: WritebackServices,
    change: ModelChange,
    app_id: int,
    connection_id: int | None,
    priority: Priority,
) -> RequestPlan | None:
    """The request, planned now: a change that cannot be written back is refused before it is
    recorded (MappingError names the field)."""
    async with services.clients(connection_id, priority) as client:
        context = await services.contexts(app_id, client)
    return plan(change, mapping=services.mapping, context=context, app_id=str(app_id))


def _new(
    change: ModelChange,
    app_id: int,
    connection_id: int | None,
    priority: Priority,
    *,
    force: bool,
    key: str,
) -> NewWriteback:
    return NewWriteback(
        app_id=app_id,
        connection_id=connection_id,
        model=change.model,
        action=change.action.value,
        external_id=change.external_id,
        payload=encode_values(change.values),
        changed=None if change.changed is None else tuple(sorted(change.changed)),
        idempotency_key=key,
        priority=priority.value,
        force=force,
    )


def _plain_key(app_id: int, change: ModelChange) -> str:
    """A key for a change with nothing to send (it settles as done at once)."""
    changed = ",".join(sorted(change.changed or ()))
    material = f"{app_id}\x1f{change.model}\x1f{change.external_id}\x1fnoop\x1f{changed}"
    return hashlib.sha256(material.encode()).hexdigest()[:32]


async def _get(services: WritebackServices, writeback_id: int) -> StoredWriteback:
    found = await services.outbox.get(writeback_id)
    if found is None:  # pragma: no cover - rows are never deleted while in use
        raise LookupError(f"write-back {writeback_id} vanished")
    return found
