"""The sync core's `after_rows` hook that keeps the match index current, and opens a review
when two DrChrono patients look like one person.

It runs inside the ingest's transaction: a patient row and its keys commit together, so the
index never points at a row that is not there, nor misses one that is (lookups skip rows
marked deleted). A duplicate review is opened once per group of patients (its fingerprint): a
re-sync of either patient finds the review already there, whatever its status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.domain.matching import (
    Candidate,
    Hasher,
    MatchDecision,
    MatchKey,
    identity_from_row,
    match_keys,
)
from chronobridge.domain.matching_page import match_page, search_keys
from chronobridge.store import (
    BlindIndex,
    Database,
    MatchIndex,
    MatchReviews,
    NewReview,
    ReviewKind,
)
from chronobridge.writeback._identity import duplicate_fingerprint

__all__ = ["MatchIndexHook", "ModelRowLike"]


class ModelRowLike(Protocol):
    """What the hook reads of a stored practice-model row (`sync.StoredModelRow`)."""

    @property
    def id(self) -> int: ...

    @property
    def model(self) -> str: ...

    @property
    def external_id(self) -> str: ...

    @property
    def values(self) -> Mapping[str, Any]: ...


class MatchIndexHook:
    """Register with the sync core's ingest: `ingest(..., hooks=(MatchIndexHook(db),))`."""

    def __init__(self, db: Database, *, model: str = "patient") -> None:
        self.model = model
        self._blind = BlindIndex(db)
        self._index = MatchIndex(db)
        self._reviews = MatchReviews(db)

    async def after_rows(
        self, tx: AsyncConnection, app_id: int, rows: Sequence[ModelRowLike]
    ) -> None:
        patients = [row for row in rows if row.model == self.model]
        if not patients:
            return
        hasher = await self._blind.hasher(tx=tx)
        keys = {row.id: _keys(row.values, hasher) for row in patients}
        await self._index.replace(app_id, keys, tx=tx)
        stored = {row.external_id: row.id for row in patients}
        await self._open_duplicates(tx, app_id, stored, keys)

    async def _open_duplicates(
        self,
        tx: AsyncConnection,
        app_id: int,
        stored: Mapping[str, int],
        keys: Mapping[int, tuple[MatchKey, ...]],
    ) -> None:
        """Match the page against the stored patients and itself; `match_page` compares each
        row only with the candidates sharing one of its keys (linear in the page, not square).
        Stored candidates come with only the keys a decision reads (`only`); the page's own
        rows come from memory: their stored keys are exactly `keys`."""
        page_keys = [k for row_keys in keys.values() for k in row_keys]
        wanted = search_keys(page_keys)
        found = await self._index.lookup(
            app_id, wanted, exclude_rows=list(keys), only=page_keys, tx=tx
        )
        page = [
            (row_id, Candidate(external_id, frozenset(keys[row_id])))
            for external_id, row_id in stored.items()
        ]
        candidates = [*((p.row_id, p.candidate()) for p in found), *page]
        matches = match_page(keys, candidates)
        reviews = [
            _review(app_id, external_id, row_id, matches.decisions[row_id])
            for external_id, row_id in stored.items()
            if row_id in matches.decisions
        ]
        await self._reviews.open_all(reviews, tx=tx)


def _review(app_id: int, external_id: str, row_id: int, decision: MatchDecision) -> NewReview:
    """The duplicate review of one row: once per group of patients (its fingerprint)."""
    group = (external_id, *decision.patient_ids)
    return NewReview(
        app_id=app_id,
        kind=ReviewKind.DUPLICATE_IN_DRCHRONO,
        fingerprint=duplicate_fingerprint(app_id, group),
        strength=decision.kind.value,
        matched_ids=decision.patient_ids,
        rules=decision.rules,
        candidate_id=external_id,
        model_row_id=row_id,
    )


def _keys(values: Mapping[str, Any], hasher: Hasher) -> tuple[MatchKey, ...]:
    return match_keys(identity_from_row(values), hasher=hasher)
