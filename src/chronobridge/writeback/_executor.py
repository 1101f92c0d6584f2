"""One execution of a write-back: claim the outbox row, plan the request, send it, record how
it ended. The DBOS workflow and the CLI run this same function.

- Creates of patients go through the create lock and a lookup first (`_creates`).
- Other creates (booking an appointment) look for the object an earlier attempt may have made
  before sending again: a create has no idempotency key in DrChrono.
- Updates send a PATCH of the changed fields; then the current object is read back and
  ingested, so the store holds the change at once.
- 400 and 409 settle the row (reported, never retried); 401/403/404 too; 429, 5xx, network
  failures and an exhausted budget hand back a `Retry`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chronobridge.client import DrChronoClient
from chronobridge.domain.budget import Priority
from chronobridge.domain.mappings import MappingContext
from chronobridge.domain.writeback import (
    ModelChange,
    RequestPlan,
    WriteAction,
    classify_error,
    plan,
)
from chronobridge.errors import (
    BudgetExhausted,
    HubError,
    InvalidRequest,
    MappingError,
    NeedsReconnect,
)
from chronobridge.store import Settled, StoredWriteback, WritebackStatus
from chronobridge.writeback import _sentences as say
from chronobridge.writeback._appointments import find_booked
from chronobridge.writeback._creates import create_patient, ingest_written
from chronobridge.writeback._outcome import Retry, settle_verdict
from chronobridge.writeback._services import WritebackServices
from chronobridge.writeback._values import decode_values

__all__ = ["Attempt", "execute"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    """The row after one execution; `retry_after` is set when it should run again later."""

    stored: StoredWriteback
    again: bool = False
    retry_after: float | None = None


async def execute(services: WritebackServices, writeback_id: int) -> Attempt:
    """Run the write-back once, unless it is finished or another execution holds it."""
    stored = await services.outbox.claim(
        writeback_id, lease=services.settings.lease, now=services.now()
    )
    if stored is None:
        return await _not_claimed(services, writeback_id)
    step = await _guarded(services, stored)
    if isinstance(step, Retry):
        requeued = await services.outbox.settle(
            stored.id,
            Settled(
                status=WritebackStatus.QUEUED, error_class=step.error_class, message=step.message
            ),
            now=services.now(),
        )
        return Attempt(stored=requeued, again=True, retry_after=step.retry_after)
    return Attempt(stored=await services.outbox.settle(stored.id, step, now=services.now()))


async def _not_claimed(services: WritebackServices, writeback_id: int) -> Attempt:
    current = await services.outbox.get(writeback_id)
    if current is None:
        raise InvalidRequest(f"There is no write-back {writeback_id}.")
    if current.final:
        return Attempt(stored=current)
    return Attempt(stored=current, again=True, retry_after=_lease_left(services.now(), current))


def _lease_left(now: datetime, stored: StoredWriteback) -> float | None:
    if stored.lease_until is None:
        return None
    return max((stored.lease_until - now).total_seconds(), 0.0)


async def _guarded(services: WritebackServices, stored: StoredWriteback) -> Settled | Retry:
    """The attempt, with the failures that happen before any request is planned."""
    try:
        async with services.clients(stored.connection_id, Priority(stored.priority)) as client:
            return await _run(services, client, stored)
    except BudgetExhausted as error:
        wait = max((error.resume_at - services.now()).total_seconds(), 1.0)
        return Retry(retry_after=wait, error_class="BudgetExhausted", message=str(error))
    except NeedsReconnect:
        return Settled(
            status=WritebackStatus.FAILED, error_class="NeedsReconnect", message=say.reauth()
        )
    except MappingError as error:  # texts name the model, field and rule, never a value
        fields = (error.field,) if error.field else ()
        return Settled(
            status=WritebackStatus.REJECTED,
            error_fields=fields,
            error_class="MappingError",
            message=str(error),
        )
    except HubError as error:
        if error.retriable:
            return Retry(
                retry_after=None, error_class=type(error).__name__, message=say.retrying(None)
            )
        return Settled(
            status=WritebackStatus.FAILED, error_class=type(error).__name__, message=str(error)
        )


async def _run(
    services: WritebackServices, client: DrChronoClient, stored: StoredWriteback
) -> Settled | Retry:
    change = await _change(services, stored)
    context = await services.contexts(stored.app_id, client)
    request = plan(change, mapping=services.mapping, context=context, app_id=str(stored.app_id))
    if request is None:
        message = say.nothing_to_send(stored.model)
        return Settled(status=WritebackStatus.DONE, drchrono_id=stored.external_id, message=message)
    if request.creates and stored.model == services.settings.patient_model:
        return await create_patient(services, client, stored, change, request, context)
    if request.creates and stored.attempts > 1:
        found = await _created_before(services, client, stored, request, context)
        if found is not None:
            return found
    return await _send(services, client, stored, request, context)


async def _change(services: WritebackServices, stored: StoredWriteback) -> ModelChange:
    values = decode_values(services.mapping, stored.model, await services.outbox.payload(stored))
    return ModelChange(
        model=stored.model,
        action=WriteAction(stored.action),
        values=values,
        external_id=stored.external_id,
        changed=None if stored.changed is None else frozenset(stored.changed),
    )


async def _created_before(
    services: WritebackServices,
    client: DrChronoClient,
    stored: StoredWriteback,
    request: RequestPlan,
    context: MappingContext,
) -> Settled | None:
    """An earlier attempt's answer was lost: did DrChrono book it anyway?"""
    if stored.model != services.settings.appointment_model:
        return None
    found = await find_booked(client, request.body)
    if found is None:
        return None
    await ingest_written(services, stored, _resource(services, stored), found, context)
    found_id = str(found["id"])
    return Settled(
        status=WritebackStatus.DONE,
        drchrono_id=found_id,
        matched_existing=True,
        message=say.done(stored.model, stored.action, found_id),
    )


async def _send(
    services: WritebackServices,
    client: DrChronoClient,
    stored: StoredWriteback,
    request: RequestPlan,
    context: MappingContext,
) -> Settled | Retry:
    record_id = request.path_params.get("id")
    try:
        answer = await client.call(request.operation, id=record_id, json=dict(request.body))
    except HubError as error:
        outcome = classify_error(request, error)
        return settle_verdict(stored.model, stored.action, stored.external_id, outcome, error)
    written = await _written(services, client, stored, answer, context)
    drchrono_id = str(written["id"]) if written is not None else stored.external_id
    return Settled(
        status=WritebackStatus.DONE,
        drchrono_id=drchrono_id,
        message=say.done(stored.model, stored.action, drchrono_id),
    )


async def _written(
    services: WritebackServices,
    client: DrChronoClient,
    stored: StoredWriteback,
    answer: Any,
    context: MappingContext,
) -> Mapping[str, Any] | None:
    """The object as DrChrono holds it now (a create answers with it; a PATCH answers 204, so
    it is read back), ingested into the store."""
    record: Any = answer
    if not isinstance(record, Mapping):
        try:
            record = await client.resource(_resource(services, stored)).get(stored.external_id)
        except HubError:  # the change is made; the next sync brings the object
            record = None
    if isinstance(record, Mapping):
        await ingest_written(services, stored, _resource(services, stored), record, context)
        return record
    return None


def _resource(services: WritebackServices, stored: StoredWriteback) -> str:
    return services.mapping.model(stored.model).spec.source
