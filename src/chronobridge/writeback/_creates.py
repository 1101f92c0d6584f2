"""Race-free patient creates: whoever creates a patient holds its create lock, looks first,
and POSTs only when no one exists.

1. Claim the lock for the patient's identity (`pending_creates`, unique per app). A second
   worker creating the same person waits while the first holds it.
2. Look for the patient: the store's match index, DrChrono's patients born that day, and the
   patient the lock's previous owner created (its id is on the lock). An exact match is the
   answer (nothing is created); a possible one opens a review (nothing is created, unless a
   person already decided: `force`).
3. POST; put the new patient in the store (ingest, source `writeback`); release the lock as
   `created`. The waiting worker then owns the lock, looks, and finds that patient.

A 5xx or a lost answer keeps the lock: the change's own retry owns it again, and looks before
sending again (DrChrono may have created the patient); another worker takes it over only after
a whole lease, and looks too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from chronobridge.client import DrChronoClient
from chronobridge.domain.mappings import MappingContext
from chronobridge.domain.matching import Hasher, MatchKind
from chronobridge.domain.writeback import ModelChange, RequestPlan, Verdict, classify_error
from chronobridge.errors import HubError
from chronobridge.store import (
    CreateLock,
    LockStatus,
    ReviewStatus,
    Settled,
    StoredWriteback,
    WritebackStatus,
)
from chronobridge.writeback import _sentences as say
from chronobridge.writeback._identity import exact_rules, identity_key, keys_of_values
from chronobridge.writeback._inbound import open_inbound_review
from chronobridge.writeback._lookup import find_existing
from chronobridge.writeback._outcome import Retry, settle_verdict
from chronobridge.writeback._services import WritebackServices

__all__ = ["create_patient", "ingest_written"]

log = logging.getLogger("chronobridge.writeback")


async def create_patient(
    services: WritebackServices,
    client: DrChronoClient,
    stored: StoredWriteback,
    change: ModelChange,
    request: RequestPlan,
    context: MappingContext,
) -> Settled | Retry:
    hasher = await services.blind.hasher()
    identity, _keys = keys_of_values(change.values, hasher)
    lock = await _acquire(services, stored, identity_key(identity, hasher))
    if lock is None:
        return Retry(retry_after=None, error_class="CreateInProgress", message=say.busy())
    try:
        return await _as_owner(services, client, stored, change, request, context, lock, hasher)
    except HubError:  # the lookup failed (budget, 5xx): nothing was sent, let others go on
        await _release(services, lock, stored, LockStatus.FAILED)
        raise


async def _acquire(
    services: WritebackServices, stored: StoredWriteback, key: str
) -> CreateLock | None:
    """Own the lock, waiting (with growing pauses) while a live owner holds it."""
    settings, started, pause = services.settings, services.now(), services.settings.poll_interval
    while True:
        lock = await services.locks.claim(
            stored.app_id,
            key,
            writeback_id=stored.id,
            idempotency_key=stored.idempotency_key,
            lease=settings.lease,
            now=services.now(),
        )
        if lock.owned:
            return lock
        if (services.now() - started).total_seconds() > settings.wait_for_create:
            return None
        await services.outbox.extend(stored.id, lease=settings.lease, now=services.now())
        await services.sleep(pause)
        pause = min(pause * 1.5, 1.0)


async def _as_owner(
    services: WritebackServices,
    client: DrChronoClient,
    stored: StoredWriteback,
    change: ModelChange,
    request: RequestPlan,
    context: MappingContext,
    lock: CreateLock,
    hasher: Hasher,
) -> Settled | Retry:
    _identity, keys = keys_of_values(change.values, hasher)
    decision = await find_existing(
        services,
        client,
        app_id=stored.app_id,
        values=change.values,
        keys=keys,
        hints=[lock.drchrono_id] if lock.drchrono_id else [],
        context=context,
        hasher=hasher,
    )
    if decision.kind is MatchKind.EXACT:
        found = decision.patient_ids[0]
        await _release(services, lock, stored, LockStatus.CREATED, found)
        return Settled(
            status=WritebackStatus.DONE,
            drchrono_id=found,
            matched_existing=True,
            message=say.adopted(stored.model, found, exact_rules(decision.rules)),
        )
    if decision.kind is MatchKind.POSSIBLE and not stored.force:
        review = await open_inbound_review(
            services, stored.app_id, change.values, keys, decision, writeback_id=stored.id
        )
        if review.status is not ReviewStatus.DISMISSED:  # dismissed: a person said "another"
            await _release(services, lock, stored, LockStatus.FAILED)
            message = say.review(decision.patient_ids, decision.rules, review.id)
            return Settled(status=WritebackStatus.REVIEW, message=message)
    return await _post(services, client, stored, request, lock, context)


async def _post(
    services: WritebackServices,
    client: DrChronoClient,
    stored: StoredWriteback,
    request: RequestPlan,
    lock: CreateLock,
    context: MappingContext,
) -> Settled | Retry:
    try:
        created = await client.call(request.operation, json=dict(request.body))
    except HubError as error:
        outcome = classify_error(request, error)
        if outcome.verdict is not Verdict.VERIFY:  # nothing was created: let others go on
            await _release(services, lock, stored, LockStatus.FAILED)
        return settle_verdict(stored.model, stored.action, None, outcome, error)
    patient_id = str(created["id"])
    # Into the store before the lock is released: the next owner's lookup finds it there.
    resource = services.mapping.model(stored.model).spec.source
    await ingest_written(services, stored, resource, created, context)
    await _release(services, lock, stored, LockStatus.CREATED, patient_id)
    return Settled(
        status=WritebackStatus.DONE,
        drchrono_id=patient_id,
        message=say.done(stored.model, stored.action, patient_id),
    )


async def _release(
    services: WritebackServices,
    lock: CreateLock,
    stored: StoredWriteback,
    status: LockStatus,
    drchrono_id: str | None = None,
) -> None:
    kept = await services.locks.finish(
        lock, status, writeback_id=stored.id, drchrono_id=drchrono_id, now=services.now()
    )
    if not kept:
        log.warning(
            "Create lock %s was taken over before write-back %s released it", lock.id, stored.id
        )


async def ingest_written(
    services: WritebackServices,
    stored: StoredWriteback,
    resource: str,
    record: Mapping[str, Any],
    context: MappingContext,
) -> None:
    """Hand the object DrChrono answered with to the sync core, so the store holds it now.

    The write already happened: a failure here is logged (by class) and left to the next sync.
    """
    if services.ingest is None:
        return
    try:
        await services.ingest(
            app_id=stored.app_id,
            connection_id=stored.connection_id,
            resource=resource,
            records=[record],
            timezones=context.timezones,
        )
    except Exception as error:  # the write is done whatever the store says
        log.warning("Ingest after write-back %s failed: %s", stored.id, type(error).__name__)
