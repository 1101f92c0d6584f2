"""Patients arriving from other systems (a form, an import, another EHR), matched against the
store by the deterministic rules: exact → the existing patient; possible → a review for a
person, nothing created; none → the caller may create it through write-back.

The lookup reads the store's match index only (no DrChrono call, no budget); a create through
write-back looks in DrChrono as well before it sends anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.domain.matching import MatchDecision, MatchKey, MatchKind, decide
from chronobridge.store import NewReview, Review, ReviewKind
from chronobridge.writeback._identity import exact_rules, inbound_fingerprint, keys_of_values
from chronobridge.writeback._services import WritebackServices
from chronobridge.writeback._values import encode_values, model_values

__all__ = ["InboundMatch", "match_inbound", "open_inbound_review"]


@dataclass(frozen=True, slots=True)
class InboundMatch:
    decision: MatchDecision
    review: Review | None = None
    """The review opened (or found) for a possible match."""

    @property
    def reasons(self) -> tuple[str, ...]:
        """The rules worth naming: the exact ones for an exact match, else all that matched."""
        if self.decision.kind is MatchKind.EXACT:
            return exact_rules(self.decision.rules)
        return self.decision.rules

    @property
    def patient_id(self) -> str | None:
        """The existing patient's DrChrono id, for an exact match."""
        exact = self.decision.kind is MatchKind.EXACT
        return self.decision.patient_ids[0] if exact else None


async def match_inbound(
    services: WritebackServices, app_id: int, values: Mapping[str, Any]
) -> InboundMatch:
    """Decide what an incoming patient is; a possible match opens a review (once)."""
    typed = model_values(services.mapping, services.settings.patient_model, values)
    hasher = await services.blind.hasher()
    _identity, keys = keys_of_values(typed, hasher)
    found = await services.index.lookup(app_id, keys)
    decision = decide(keys, [p.candidate() for p in found])
    if decision.kind is not MatchKind.POSSIBLE:
        return InboundMatch(decision)
    review = await open_inbound_review(services, app_id, typed, keys, decision)
    return InboundMatch(decision, review)


async def open_inbound_review(
    services: WritebackServices,
    app_id: int,
    values: Mapping[str, Any],
    keys: tuple[MatchKey, ...],
    decision: MatchDecision,
    *,
    writeback_id: int | None = None,
    tx: AsyncConnection | None = None,
) -> Review:
    """The review of a would-be patient: the values kept encrypted until a person decides."""
    review = NewReview(
        app_id=app_id,
        kind=ReviewKind.INBOUND,
        fingerprint=inbound_fingerprint(app_id, keys, decision.patient_ids),
        strength=decision.kind.value,
        matched_ids=decision.patient_ids,
        rules=decision.rules,
        payload=encode_values(values),
        writeback_id=writeback_id,
    )
    opened, _new = await services.reviews.open(review, tx=tx, now=services.now())
    return opened
