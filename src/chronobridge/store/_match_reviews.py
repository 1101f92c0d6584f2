"""The possible-match review queue: pairs (or groups) of patients a person must look at.

Two kinds: `duplicate_in_drchrono` (two DrChrono patients match each other; found when the sync
indexes a patient) and `inbound` (a patient from another system, or a create from the hub,
possibly matches a stored one; its values are kept encrypted in `payload` until decided).
A review is opened once per `fingerprint` (the kind and the patients involved, or the inbound
identity): a re-sync or a repeated submission finds the row that is already there, whatever
its status, so a dismissed review stays dismissed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.errors import InvalidRequest
from chronobridge.store._common import utcnow
from chronobridge.store._database import Database
from chronobridge.store.tables import match_reviews

__all__ = ["MatchReviews", "NewReview", "Review", "ReviewKind", "ReviewStatus"]


class ReviewKind(StrEnum):
    DUPLICATE_IN_DRCHRONO = "duplicate_in_drchrono"
    INBOUND = "inbound"


class ReviewStatus(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"  # the same person
    DISMISSED = "dismissed"  # different people
    MERGED = "merged"  # the duplicates were merged in DrChrono


@dataclass(frozen=True, kw_only=True)
class NewReview:
    app_id: int
    kind: ReviewKind
    fingerprint: str
    strength: str
    """exact or possible: how strongly the rules matched (two exact candidates are possible)."""
    matched_ids: tuple[str, ...]
    rules: tuple[str, ...]
    candidate_id: str | None = None
    model_row_id: int | None = None
    payload: str | None = None
    """Inbound values as JSON text: encrypted before it is stored."""
    writeback_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class Review:
    id: int
    app_id: int
    kind: ReviewKind
    fingerprint: str
    status: ReviewStatus
    strength: str
    matched_ids: tuple[str, ...]
    rules: tuple[str, ...]
    candidate_id: str | None
    model_row_id: int | None
    writeback_id: int | None
    has_payload: bool
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None


class MatchReviews:
    """The match_reviews table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def open(
        self, new: NewReview, *, tx: AsyncConnection | None = None, now: datetime | None = None
    ) -> tuple[Review, bool]:
        """The review for `new.fingerprint`, opened if there was none; (review, opened now)."""
        insert = self._db.insert(match_reviews).values(self._values(new, utcnow(now)))
        insert = insert.on_conflict_do_nothing(index_elements=["app_id", "fingerprint"])
        async with self._db.write(tx) as conn:
            opened = (await conn.execute(insert.returning(match_reviews.c.id))).first()
            row = (await conn.execute(_by_fingerprint(new.app_id, new.fingerprint))).one()
            if opened is None and row.writeback_id is None and new.writeback_id is not None:
                await conn.execute(  # the change held back by this review, for its decision
                    match_reviews.update()
                    .where(match_reviews.c.id == row.id)
                    .values(writeback_id=new.writeback_id)
                )
                row = (await conn.execute(_by_fingerprint(new.app_id, new.fingerprint))).one()
        return _review(row._mapping), opened is not None

    async def open_all(
        self,
        reviews: Sequence[NewReview],
        *,
        tx: AsyncConnection | None = None,
        now: datetime | None = None,
    ) -> None:
        """`open` for many reviews without a write-back, in one statement: each fingerprint
        that has no review gets one (the first of the batch that names it); the others are
        left as they are. For the sync's duplicate reviews, a page at a time."""
        if any(new.writeback_id is not None for new in reviews):
            raise ValueError("reviews holding a write-back are opened one at a time")
        if not reviews:
            return
        stamp = utcnow(now)
        rows = [self._values(new, stamp) for new in reviews]
        insert = self._db.insert(match_reviews)
        insert = insert.on_conflict_do_nothing(index_elements=["app_id", "fingerprint"])
        async with self._db.write(tx) as conn:
            await conn.execute(insert, rows)

    def _values(self, new: NewReview, stamp: datetime) -> dict[str, Any]:
        return {
            "app_id": new.app_id,
            "kind": new.kind.value,
            "fingerprint": new.fingerprint,
            "model_row_id": new.model_row_id,
            "candidate_id": new.candidate_id,
            "payload": self._seal(new.payload, new.fingerprint, "payload"),
            "matched_ids": list(new.matched_ids),
            "rules": list(new.rules),
            "strength": new.strength,
            "writeback_id": new.writeback_id,
            "status": ReviewStatus.OPEN.value,
            "created_at": stamp,
        }

    async def get(self, review_id: int, *, tx: AsyncConnection | None = None) -> Review | None:
        async with self._db.read(tx) as conn:
            row = (await conn.execute(_select().where(match_reviews.c.id == review_id))).first()
        return None if row is None else _review(row._mapping)

    async def list(
        self,
        *,
        app_id: int | None = None,
        status: ReviewStatus | None = ReviewStatus.OPEN,
        kind: ReviewKind | None = None,
        limit: int = 100,
    ) -> list[Review]:
        query = _select().order_by(match_reviews.c.id).limit(limit)
        for column, value in (("app_id", app_id), ("status", status), ("kind", kind)):
            if value is not None:
                query = query.where(match_reviews.c[column] == value)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [_review(row._mapping) for row in rows]

    async def for_writeback(self, writeback_id: int) -> Review | None:
        query = _select().where(match_reviews.c.writeback_id == writeback_id)
        async with self._db.read() as conn:
            row = (await conn.execute(query.order_by(match_reviews.c.id.desc()))).first()
        return None if row is None else _review(row._mapping)

    async def secrets(self, review_id: int) -> tuple[str | None, str | None]:
        """The decrypted (payload, note) of a review: patient data, audit the read."""
        query = sa.select(
            match_reviews.c.fingerprint, match_reviews.c.payload, match_reviews.c.note
        ).where(match_reviews.c.id == review_id)
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None, None
        return self._open(row.payload, row.fingerprint, "payload"), self._open(
            row.note, row.fingerprint, "note"
        )

    async def resolve(
        self,
        review_id: int,
        status: ReviewStatus,
        *,
        by: str,
        note: str | None = None,
        tx: AsyncConnection | None = None,
        now: datetime | None = None,
    ) -> Review:
        """Decide an open review (or turn a confirmed duplicate into merged)."""
        if status is ReviewStatus.OPEN:
            raise InvalidRequest("A review is resolved as confirmed, dismissed or merged.")
        allowed = [ReviewStatus.OPEN.value]
        if status is ReviewStatus.MERGED:
            allowed.append(ReviewStatus.CONFIRMED.value)
        async with self._db.write(tx) as conn:
            row = (await conn.execute(_select().where(match_reviews.c.id == review_id))).first()
            if row is None:
                raise InvalidRequest(f"There is no match review {review_id}.")
            if row.status not in allowed:
                raise InvalidRequest(f"Match review {review_id} is already {row.status}.")
            sealed = self._seal(note, row.fingerprint, "note")
            change = {"status": status.value, "resolved_at": utcnow(now), "resolved_by": by}
            update = match_reviews.update().where(match_reviews.c.id == review_id)
            await conn.execute(update.values(**change, note=sealed))
            fresh = (await conn.execute(_select().where(match_reviews.c.id == review_id))).one()
        return _review(fresh._mapping)

    def _seal(self, text: str | None, fingerprint: str, column: str) -> str | None:
        if text is None:
            return None
        return self._db.keys.encrypt(text, context=_context(column, fingerprint))

    def _open(self, token: str | None, fingerprint: str, column: str) -> str | None:
        if token is None:
            return None
        return self._db.keys.decrypt(token, context=_context(column, fingerprint))


_COLUMNS: Sequence[str] = (
    "id",
    "fingerprint",
    "app_id",
    "kind",
    "status",
    "strength",
    "matched_ids",
    "rules",
    "candidate_id",
    "model_row_id",
    "writeback_id",
    "created_at",
    "resolved_at",
    "resolved_by",
)


def _select() -> sa.Select[Any]:
    has_payload = match_reviews.c.payload.is_not(None).label("has_payload")
    return sa.select(*(match_reviews.c[name] for name in _COLUMNS), has_payload)


def _by_fingerprint(app_id: int, fingerprint: str) -> sa.Select[Any]:
    return _select().where(
        match_reviews.c.app_id == app_id, match_reviews.c.fingerprint == fingerprint
    )


def _review(row: Any) -> Review:
    return Review(
        id=int(row["id"]),
        app_id=int(row["app_id"]),
        kind=ReviewKind(row["kind"]),
        fingerprint=row["fingerprint"],
        status=ReviewStatus(row["status"]),
        strength=row["strength"],
        matched_ids=tuple(row["matched_ids"]),
        rules=tuple(row["rules"]),
        candidate_id=row["candidate_id"],
        model_row_id=row["model_row_id"],
        writeback_id=row["writeback_id"],
        has_payload=bool(row["has_payload"]),
        created_at=row["created_at"],
        resolved_at=row["resolved_at"],
        resolved_by=row["resolved_by"],
    )


def _context(column: str, fingerprint: str) -> str:
    return f"match_reviews.{column}:{fingerprint}"
