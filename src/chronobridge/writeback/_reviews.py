"""The possible-match review queue, as people use it (`chronobridge matches …`, the admin UI).

- `list` shows ids, kinds, rules and DrChrono ids: no patient data.
- `show` also decrypts the inbound values and the note: patient data, so every call writes an
  audit row (who, which review, why).
- `confirm`: the same person. An inbound review that held back a create settles that
  write-back with the existing patient; a duplicate in DrChrono is marked confirmed (`merged`
  once someone merged the charts in DrChrono).
- `dismiss`: different people. With `create`, the held-back patient is created after all
  (the possible-match rules are skipped; an exact match and the create lock still apply).
Every decision writes an audit row in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chronobridge.domain.budget import Priority
from chronobridge.domain.writeback import ModelChange, WriteAction
from chronobridge.errors import InvalidRequest
from chronobridge.store import (
    AuditEntry,
    AuditLog,
    Review,
    ReviewKind,
    ReviewStatus,
    Settled,
    WritebackStatus,
)
from chronobridge.writeback import _sentences as say
from chronobridge.writeback._outbox import enqueue, result_of, run_inline, submit
from chronobridge.writeback._outcome import WritebackResult
from chronobridge.writeback._services import WritebackServices
from chronobridge.writeback._values import model_values

__all__ = ["ReviewDetails", "ReviewQueue"]

HINT = "chronobridge matches list shows the open reviews."


def _refused(message: str) -> InvalidRequest:
    return InvalidRequest(message, hint=HINT)


@dataclass(frozen=True, slots=True)
class ReviewDetails:
    review: Review
    values: dict[str, Any] | None
    """The inbound patient's values (patient data)."""
    note: str | None


class ReviewQueue:
    def __init__(self, services: WritebackServices) -> None:
        self._services = services
        self._audit = AuditLog(services.db)

    async def list(
        self,
        *,
        app_id: int | None = None,
        status: ReviewStatus | None = ReviewStatus.OPEN,
        kind: ReviewKind | None = None,
        limit: int = 100,
    ) -> list[Review]:
        return await self._services.reviews.list(
            app_id=app_id, status=status, kind=kind, limit=limit
        )

    async def show(self, review_id: int, *, actor: str, reason: str | None = None) -> ReviewDetails:
        review = await self._get(review_id)
        await self._audit.append(_entry(actor, "match_review.view", review, reason))
        payload, note = await self._services.reviews.secrets(review_id)
        values = json.loads(payload) if payload else None
        return ReviewDetails(review=review, values=values, note=note)

    async def confirm(
        self,
        review_id: int,
        *,
        actor: str,
        note: str | None = None,
        patient_id: str | None = None,
        merged: bool = False,
    ) -> tuple[Review, WritebackResult | None]:
        review = await self._get(review_id)
        chosen = _chosen(review, patient_id)
        status = ReviewStatus.MERGED if merged else ReviewStatus.CONFIRMED
        async with self._services.db.write() as tx:
            resolved = await self._services.reviews.resolve(
                review_id, status, by=actor, note=note, tx=tx, now=self._services.now()
            )
            details: dict[str, str | int | bool] = {"status": status.value, "patient": chosen or ""}
            await self._audit.append(
                _entry(actor, "match_review.confirm", review, None, details), tx=tx
            )
            settled = await self._adopt(review, chosen, tx)
        return resolved, settled

    async def dismiss(
        self,
        review_id: int,
        *,
        actor: str,
        note: str | None = None,
        create: bool = False,
        connection_id: int | None = None,
        inline: bool = True,
    ) -> tuple[Review, WritebackResult | None]:
        review = await self._get(review_id)
        async with self._services.db.write() as tx:
            resolved = await self._services.reviews.resolve(
                review_id,
                ReviewStatus.DISMISSED,
                by=actor,
                note=note,
                tx=tx,
                now=self._services.now(),
            )
            details: dict[str, str | int | bool] = {"status": "dismissed", "create": create}
            await self._audit.append(
                _entry(actor, "match_review.dismiss", review, None, details), tx=tx
            )
        if not create:
            return resolved, None
        return resolved, await self._create(review, connection_id, inline=inline)

    async def _get(self, review_id: int) -> Review:
        review = await self._services.reviews.get(review_id)
        if review is None:
            raise _refused(f"There is no match review {review_id}.")
        return review

    async def _adopt(self, review: Review, chosen: str | None, tx: Any) -> WritebackResult | None:
        if review.writeback_id is None or chosen is None:
            return None
        outcome = Settled(
            status=WritebackStatus.DONE,
            drchrono_id=chosen,
            matched_existing=True,
            message=say.adopted("patient", chosen, review.rules),
        )
        stored = await self._services.outbox.settle(
            review.writeback_id, outcome, tx=tx, now=self._services.now()
        )
        return WritebackResult.of(stored)

    async def _create(
        self, review: Review, connection_id: int | None, *, inline: bool
    ) -> WritebackResult:
        services = self._services
        if review.kind is not ReviewKind.INBOUND:
            raise _refused("Only an inbound review holds a patient to create.")
        if review.writeback_id is not None:
            stored = await services.outbox.requeue(
                review.writeback_id, force=True, now=services.now()
            )
            if inline or services.enqueue is None:
                return await run_inline(services, stored.id)
            await enqueue(services, stored)
            return await result_of(services, stored)
        payload, _note = await services.reviews.secrets(review.id)
        if payload is None:
            raise _refused(f"Match review {review.id} holds no patient to create.")
        change = ModelChange(
            model=services.settings.patient_model,
            action=WriteAction.CREATE,
            values=json.loads(payload),
        )
        return await submit(
            services,
            _typed(services, change),
            app_id=review.app_id,
            connection_id=connection_id,
            priority=Priority.INTERACTIVE,
            force=True,
            inline=inline,
        )


def _typed(services: WritebackServices, change: ModelChange) -> ModelChange:
    values = model_values(services.mapping, change.model, change.values)
    return ModelChange(model=change.model, action=change.action, values=values)


def _chosen(review: Review, patient_id: str | None) -> str | None:
    if patient_id is not None:
        if patient_id not in review.matched_ids:
            raise _refused(f"Patient {patient_id} is not one of review {review.id}'s matches.")
        return patient_id
    if review.kind is ReviewKind.INBOUND and len(review.matched_ids) > 1:
        raise _refused(
            f"Review {review.id} matched several patients: name one with --patient.",
        )
    return review.matched_ids[0] if review.kind is ReviewKind.INBOUND else None


def _entry(
    actor: str,
    action: str,
    review: Review,
    reason: str | None,
    details: Mapping[str, str | int | bool] | None = None,
) -> AuditEntry:
    return AuditEntry(
        actor=actor,
        action=action,
        target_type="match_review",
        target_id=str(review.id),
        reason=reason,
        details={"kind": review.kind.value, **(details or {})},
    )
