"""The order a list pages in: by record id, except appointments, which DrChrono returns "ordered
by scheduled date" (facts §3), by (scheduled_time, id) so that pages stay stable.

A list walks an `Order`: its sorted keys, and the record id at each position. For most tables
the keys are the table's own id order (no copy). For appointments an index of
(scheduled_time, id) pairs is kept up to date from the record store's change notifications
(a booked appointment is inserted, a moved one moved); it is rebuilt from the table whenever
the two disagree in size (records created without a notification, a state file loaded).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chronobridge.emulator._records import Change, Record, Table
from chronobridge.emulator._state import EmulatorState

Key = int | tuple[str, int]
BY_TIME = {"appointments": "scheduled_time"}  # table -> the field its list is ordered by


@dataclass(frozen=True, slots=True)
class Order:
    keys: Sequence[Any]  # sorted: ints, or (time, id) pairs
    ids: Sequence[int]  # ids[i] is the record whose key is keys[i]
    timed: bool

    @staticmethod
    def key_after(key: Key) -> Key:
        """The least key above `key`: no record sorts strictly between them (ids are whole)."""
        return key + 1 if isinstance(key, int) else (key[0], key[1] + 1)

    @staticmethod
    def key_before(key: Key) -> Key:
        return key - 1 if isinstance(key, int) else (key[0], key[1] - 1)


class TimeIndex:
    """(time, id) pairs of one table in order, kept current from change notifications."""

    def __init__(self, state: EmulatorState, table: str, field: str) -> None:
        self.state, self.table, self.field = state, table, field
        self.keys: list[tuple[str, int]] = []
        self.ids: list[int] = []
        state.records.subscribe(self._on_change)

    def order(self) -> Order:
        if len(self.keys) != len(self.state.records.table(self.table).order):
            self._rebuild()
        return Order(keys=self.keys, ids=self.ids, timed=True)

    def _key(self, record: Record) -> tuple[str, int]:
        return (str(record.get(self.field) or ""), int(record["id"]))

    def _rebuild(self) -> None:
        source = self.state.records.table(self.table)
        self.keys = sorted(self._key(source.rows[i]) for i in source.order)
        self.ids = [key[1] for key in self.keys]

    def _on_change(self, change: Change) -> None:
        if change.resource != self.table or not self.keys:
            return  # an index not built yet is built in full when first needed
        if change.kind == "created":
            self._insert(self._key(change.record))
        elif change.kind == "updated" and change.previous is not None:
            old, new = self._key(change.previous), self._key(change.record)
            if old != new:
                self._remove(old)
                self._insert(new)

    def _insert(self, key: tuple[str, int]) -> None:
        at = bisect.bisect_left(self.keys, key)
        self.keys.insert(at, key)
        self.ids.insert(at, key[1])

    def _remove(self, key: tuple[str, int]) -> None:
        at = bisect.bisect_left(self.keys, key)
        if at < len(self.keys) and self.keys[at] == key:
            del self.keys[at]
            del self.ids[at]


def order_of(state: EmulatorState, table: str, source: Table) -> Order:
    """How the list of `table` (whose rows are `source`) pages."""
    field = BY_TIME.get(table)
    if field is None:
        return Order(keys=source.order, ids=source.order, timed=False)
    indexes: dict[str, TimeIndex] = state.extensions.setdefault("list_orders", {})
    index = indexes.get(table)
    if index is None:
        index = indexes[table] = TimeIndex(state, table, field)
    return index.order()
