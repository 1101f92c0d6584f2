"""The audit log: append-only and hash-chained (who did what to which object, when and why).

Each row stores `hash = sha256(prev_hash + canonical JSON of the row)`. Appenders lock the single
`audit_head` row (SELECT … FOR UPDATE; SQLite's write lock), so concurrent appends from any
number of processes form one chain. Triggers refuse UPDATE and DELETE on audit_log; `verify`
finds the first row that was altered, removed or inserted by someone who got around them.
`details` holds identifiers and counts only, never patient data: values must be scalars.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.store._common import utcnow
from chronobridge.store._database import Database
from chronobridge.store.tables import audit_head, audit_log

__all__ = ["GENESIS", "AuditEntry", "AuditLog", "AuditRecord", "ChainCheck"]

GENESIS = "0" * 64
Scalar = str | int | float | bool | None


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    actor: str  # one person or one named service principal, e.g. "user:7", "worker:sync"
    action: str  # e.g. "patient.view", "connection.disconnect"
    target_type: str
    target_id: str | None = None
    reason: str | None = None
    details: Mapping[str, Scalar] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class AuditRecord(AuditEntry):
    seq: int
    at: datetime
    prev_hash: str
    hash: str


@dataclass(frozen=True, kw_only=True)
class ChainCheck:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None


class AuditLog:
    """The audit_log table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(
        self, entry: AuditEntry, *, now: datetime | None = None, tx: AsyncConnection | None = None
    ) -> AuditRecord:
        """Add a row at the end of the chain (inside `tx` when the audited write has one)."""
        stamp = utcnow(now)
        details = _details_json(entry.details)
        async with self._db.write(tx) as conn:
            head = (await conn.execute(_head().with_for_update())).one()
            seq = head.seq + 1
            digest = chain_hash(head.hash, _canonical(seq, stamp, entry, details))
            await conn.execute(
                audit_log.insert().values(_row(seq, stamp, entry, details, head.hash, digest))
            )
            await conn.execute(
                audit_head.update().where(audit_head.c.id == 1).values(seq=seq, hash=digest)
            )
        return AuditRecord(**_fields(entry), seq=seq, at=stamp, prev_hash=head.hash, hash=digest)

    async def recent(
        self, *, limit: int = 100, actor: str | None = None, target_type: str | None = None
    ) -> list[AuditRecord]:
        """Newest first."""
        stmt = audit_log.select().order_by(audit_log.c.seq.desc()).limit(limit)
        if actor is not None:
            stmt = stmt.where(audit_log.c.actor == actor)
        if target_type is not None:
            stmt = stmt.where(audit_log.c.target_type == target_type)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [_record(row._mapping) for row in rows]

    async def verify(self, *, batch: int = 1000) -> ChainCheck:
        """Walk the chain from the first row to the head; report the first row that is wrong."""
        async with self._db.read() as conn:
            head = (await conn.execute(_head())).one()
            walker = _Walker()
            while walker.seq < head.seq and walker.problem is None:
                rows = await _batch(conn, after=walker.seq, upto=head.seq, size=batch)
                if not rows:
                    walker.fail(walker.seq + 1, "rows are missing before the head")
                for row in rows:
                    if not walker.step(row._mapping):
                        break
        if walker.problem is None and walker.hash != head.hash:
            walker.fail(head.seq, "the head does not match the last row")
        return walker.result()


class _Walker:
    def __init__(self) -> None:
        self.seq = 0
        self.hash = GENESIS
        self.problem: tuple[int, str] | None = None

    def step(self, row: Any) -> bool:
        seq = row["seq"]
        if seq != self.seq + 1:
            return self.fail(self.seq + 1, "a row is missing")
        if row["prev_hash"] != self.hash:
            return self.fail(seq, "the link to the previous row is broken")
        entry = AuditEntry(**_entry_fields(row))
        if chain_hash(self.hash, _canonical(seq, row["at"], entry, row["details"])) != row["hash"]:
            return self.fail(seq, "the row's content was changed")
        self.seq, self.hash = seq, row["hash"]
        return True

    def fail(self, seq: int, problem: str) -> bool:
        self.problem = (seq, problem)
        return False

    def result(self) -> ChainCheck:
        if self.problem is None:
            return ChainCheck(ok=True, checked=self.seq)
        seq, problem = self.problem
        return ChainCheck(ok=False, checked=self.seq, first_bad_seq=seq, problem=problem)


def chain_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def _canonical(seq: int, at: datetime, entry: AuditEntry, details: str) -> str:
    body = {
        "seq": seq,
        "at": at.isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "reason": entry.reason,
        "details": details,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _details_json(details: Mapping[str, Scalar]) -> str:
    for key, value in details.items():
        if not isinstance(value, str | int | float | bool | type(None)):
            raise TypeError(f"audit detail {key!r} must be a scalar (no nested data)")
    return json.dumps(dict(details), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _head() -> sa.Select[Any]:
    return sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)


async def _batch(conn: AsyncConnection, *, after: int, upto: int, size: int) -> list[Any]:
    stmt = (
        audit_log.select()
        .where(audit_log.c.seq > after, audit_log.c.seq <= upto)
        .order_by(audit_log.c.seq)
        .limit(size)
    )
    return list((await conn.execute(stmt)).all())


def _fields(entry: AuditEntry) -> dict[str, Any]:
    return {
        "actor": entry.actor,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "reason": entry.reason,
        "details": dict(entry.details),
    }


def _row(
    seq: int, at: datetime, entry: AuditEntry, details: str, prev_hash: str, digest: str
) -> dict[str, Any]:
    return {
        **_fields(entry),
        "details": details,
        "seq": seq,
        "at": at,
        "prev_hash": prev_hash,
        "hash": digest,
    }


def _entry_fields(row: Any) -> dict[str, Any]:
    names = ("actor", "action", "target_type", "target_id", "reason")
    return {name: row[name] for name in names}


def _record(row: Any) -> AuditRecord:
    return AuditRecord(
        **_entry_fields(row),
        details=json.loads(row["details"]),
        seq=row["seq"],
        at=row["at"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )
