"""The match index: every patient row's blind-index keys (`matching.match_keys`), and the lookup
that finds the stored patients sharing a key with a new one.

Keys are HMAC-SHA256 digests stored as hex, one row per (model row, rule, key); the index on
(app, rule, key) serves the lookup. Rows of deleted patients are skipped. The caller hands the
candidates' key sets to `matching.decide`, which is pure.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.domain.matching import GENDER, Candidate, MatchKey
from chronobridge.store._bulk import BulkWrite
from chronobridge.store._database import Database
from chronobridge.store.tables import match_keys, model_rows

__all__ = ["IndexedPatient", "MatchIndex"]

_CHUNK = 400  # keys per lookup statement: far below SQLite's and PostgreSQL's parameter limits
_INSERT = BulkWrite(lambda db: db.insert(match_keys))


_FORGET = match_keys.delete().where(
    match_keys.c.model_row_id == sa.bindparam("gone_row"),
    match_keys.c.rule == sa.bindparam("gone_rule"),
    match_keys.c.key == sa.bindparam("gone_key"),
)


def _index_row(app_id: int, row_id: int, key: MatchKey) -> dict[str, object]:
    return {"model_row_id": row_id, "app_id": app_id, "rule": key.rule, "key": key.key.hex()}


def _forget_row(row_id: int, key: MatchKey) -> dict[str, object]:
    return {"gone_row": row_id, "gone_rule": key.rule, "gone_key": key.key.hex()}


def _index_order(row: Mapping[str, object]) -> tuple[str, str]:
    return str(row["rule"]), str(row["key"])


@dataclass(frozen=True, slots=True)
class IndexedPatient:
    """A stored patient the lookup found: its model row, DrChrono id and every stored key."""

    row_id: int
    external_id: str
    keys: frozenset[MatchKey]

    def candidate(self) -> Candidate:
        return Candidate(self.external_id, self.keys)


class MatchIndex:
    """The match_keys table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def replace(
        self,
        app_id: int,
        keys_by_row: Mapping[int, Iterable[MatchKey]],
        *,
        tx: AsyncConnection | None = None,
    ) -> None:
        """Make each row's stored keys exactly these (an empty list removes the row's keys).

        Only the differences are written: a re-synced patient whose name, birth date, phones
        and email did not change keeps its index rows as they are."""
        if not keys_by_row:
            return
        async with self._db.write(tx) as conn:
            stored = await _keys(conn, list(keys_by_row))
            gone: list[dict[str, object]] = []
            added: list[dict[str, object]] = []
            for row_id, keys in keys_by_row.items():
                wanted, had = set(keys), stored.get(row_id, frozenset())
                gone.extend(_forget_row(row_id, k) for k in had - wanted)
                added.extend(_index_row(app_id, row_id, k) for k in wanted - had)
            if gone:
                await conn.execute(_FORGET, gone)
            # In index order: each insert lands next to the previous one in the (app, rule,
            # key) index, a third less work for SQLite than a dozen random places per patient.
            added.sort(key=_index_order)
            await _INSERT.run(self._db, conn, added)

    async def lookup(
        self,
        app_id: int,
        keys: Iterable[MatchKey],
        *,
        exclude_rows: Iterable[int] = (),
        only: Iterable[MatchKey] | None = None,
        tx: AsyncConnection | None = None,
    ) -> list[IndexedPatient]:
        """Live patients sharing at least one lookup key, with all of their keys; with `only`,
        with those of their keys that are among `only`, and their gender key: all that
        `decide` reads when it compares patients whose keys are all in `only` (a page's), and
        memory that stays flat as the store grows, where the full keys of every candidate of
        a page would not."""
        by_rule: dict[str, set[str]] = defaultdict(set)
        for k in keys:
            if k.lookup:
                by_rule[k.rule].add(k.key.hex())
        excluded = set(exclude_rows)
        kept = None if only is None else {k.key.hex() for k in only}
        async with self._db.read(tx) as conn:
            row_ids: set[int] = set()
            for rule, digests in sorted(by_rule.items()):
                row_ids |= await _rows_with(conn, app_id, rule, sorted(digests))
            return await _patients(conn, sorted(row_ids - excluded), kept)

    async def row_ids(
        self,
        app_id: int,
        model: str,
        external_ids: Iterable[str],
        *,
        tx: AsyncConnection | None = None,
    ) -> dict[str, tuple[int, bool]]:
        """DrChrono id → (model row id, deleted) for the rows of `model` that exist."""
        wanted = sorted(set(external_ids))
        found: dict[str, tuple[int, bool]] = {}
        async with self._db.read(tx) as conn:
            for start in range(0, len(wanted), _CHUNK):
                query = sa.select(
                    model_rows.c.id, model_rows.c.external_id, model_rows.c.deleted_at
                ).where(
                    model_rows.c.app_id == app_id,
                    model_rows.c.model == model,
                    model_rows.c.external_id.in_(wanted[start : start + _CHUNK]),
                )
                for row in (await conn.execute(query)).all():
                    found[str(row.external_id)] = (int(row.id), row.deleted_at is not None)
        return found

    async def keys_of(
        self, row_ids: Sequence[int], *, tx: AsyncConnection | None = None
    ) -> dict[int, frozenset[MatchKey]]:
        """The stored keys of these rows (rows without keys are left out)."""
        async with self._db.read(tx) as conn:
            return await _keys(conn, row_ids)


async def _rows_with(conn: AsyncConnection, app_id: int, rule: str, digests: list[str]) -> set[int]:
    """One rule at a time: `rule = ? AND key IN (...)` is a range probe of the (app, rule, key)
    index per key, where an OR over rules makes SQLite scan every key of the app."""
    found: set[int] = set()
    c = match_keys.c
    for start in range(0, len(digests), _CHUNK):
        query = sa.select(c.model_row_id).where(
            c.app_id == app_id, c.rule == rule, c.key.in_(digests[start : start + _CHUNK])
        )
        found.update(int(row_id) for row_id in (await conn.execute(query)).scalars())
    return found


async def _patients(
    conn: AsyncConnection, row_ids: list[int], kept: set[str] | None = None
) -> list[IndexedPatient]:
    live: dict[int, str] = {}
    for start in range(0, len(row_ids), _CHUNK):
        query = sa.select(model_rows.c.id, model_rows.c.external_id).where(
            model_rows.c.id.in_(row_ids[start : start + _CHUNK]), model_rows.c.deleted_at.is_(None)
        )
        live.update((int(r.id), str(r.external_id)) for r in (await conn.execute(query)).all())
    keys = await _keys(conn, list(live), kept)
    return [
        IndexedPatient(row_id, external_id, keys.get(row_id, frozenset()))
        for row_id, external_id in sorted(live.items())
    ]


async def _keys(
    conn: AsyncConnection, row_ids: Sequence[int], kept: set[str] | None = None
) -> dict[int, frozenset[MatchKey]]:
    """The rows' keys (with `kept`: those among it, and the gender keys)."""
    found: dict[int, set[MatchKey]] = defaultdict(set)
    for start in range(0, len(row_ids), _CHUNK):
        chunk = list(row_ids[start : start + _CHUNK])
        query = sa.select(match_keys.c.model_row_id, match_keys.c.rule, match_keys.c.key).where(
            match_keys.c.model_row_id.in_(chunk)
        )
        for row_id, rule, key in (await conn.execute(query)).all():
            if kept is None or key in kept or rule == GENDER:
                found[int(row_id)].add(MatchKey(sys.intern(rule), bytes.fromhex(key)))
    return {row_id: frozenset(keys) for row_id, keys in found.items()}
