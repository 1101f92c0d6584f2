"""Many rows through one statement, handed straight to the driver on SQLite.

A sync page writes thousands of rows in one transaction (records, model rows, change events,
a dozen match keys per patient). SQLAlchemy's executemany builds and type-processes a
parameter dictionary per row (`construct_params`): about 8 µs a row, as much as SQLite's own
insert. On SQLite, `BulkWrite` compiles its statement once, runs the column types' bind
processors itself (`TypeEngine.bind_processor`: the same conversions) and gives the driver
plain tuples. PostgreSQL keeps SQLAlchemy's path, whose "insertmanyvalues" already folds the
rows into multi-row INSERTs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.store._database import Database

__all__ = ["BulkWrite"]

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Compiled:
    """The SQL, and how to turn a row into its positional parameters: the row's values in
    order (one C call), the statement's own constants put in, the bind processors run."""

    sql: str
    take: Callable[[Mapping[str, Any]], tuple[Any, ...]]
    constants: tuple[tuple[int, Any], ...]
    processors: tuple[tuple[int, Processor], ...]

    def parameters(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        taken = self.take(row)
        if not self.constants and not self.processors:
            return taken
        values = list(taken)
        for at, constant in self.constants:
            values.insert(at, constant)
        for at, process in self.processors:
            if values[at] is not None:
                values[at] = process(values[at])
        return tuple(values)


class BulkWrite:
    """One INSERT (or upsert) for many rows, each a mapping of column name → value (every
    row of a call with the same keys, as one function builds them).

    `statement` builds the statement with the database's dialect (`Database.insert`);
    `counted` is the column a PostgreSQL run returns to count the rows written (SQLite's
    driver sums them itself)."""

    def __init__(
        self, statement: Callable[[Database], Any], *, counted: sa.Column[Any] | None = None
    ) -> None:
        self._statement = statement
        self._counted = counted
        self._compiled: dict[tuple[type[Dialect], tuple[str, ...]], _Compiled] = {}

    async def run(
        self, db: Database, tx: AsyncConnection, rows: Sequence[Mapping[str, Any]]
    ) -> int:
        """Write the rows inside `tx`; how many the database inserted or changed."""
        if not rows:
            return 0
        if not db.is_sqlite:
            return await self._through_sqlalchemy(db, tx, rows)
        shape = (type(tx.dialect), tuple(rows[0]))
        compiled = self._compiled.get(shape) or self._compile(db, tx.dialect, shape)
        result = await tx.exec_driver_sql(compiled.sql, [compiled.parameters(r) for r in rows])
        return int(result.rowcount)

    async def _through_sqlalchemy(
        self, db: Database, tx: AsyncConnection, rows: Sequence[Mapping[str, Any]]
    ) -> int:
        statement = self._statement(db)
        if self._counted is None:
            result = await tx.execute(statement, list(rows))
            return int(result.rowcount)
        returned = await tx.execute(statement.returning(self._counted), list(rows))
        return len(returned.all())

    def _compile(
        self, db: Database, dialect: Dialect, shape: tuple[type[Dialect], tuple[str, ...]]
    ) -> _Compiled:
        columns = shape[1]
        compiled = self._statement(db).compile(dialect=dialect, column_keys=list(columns))
        order = compiled.positiontup
        if order is None:  # pragma: no cover - SQLite's paramstyle is positional
            raise RuntimeError("a positional paramstyle was expected")
        binds = [compiled.binds[name] for name in order]
        from_row = [name for name in order if name in columns]
        found = self._compiled[shape] = _Compiled(
            sql=compiled.string,
            take=_taker(from_row),
            constants=tuple(
                (at, bind.value) for at, bind in enumerate(binds) if order[at] not in columns
            ),
            processors=tuple(
                (at, process)
                for at, bind in enumerate(binds)
                if (process := bind.type.bind_processor(dialect)) is not None
            ),
        )
        return found


def _taker(names: Sequence[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """A tuple of the row's values in this order (itemgetter of one name returns no tuple)."""
    if len(names) == 1:
        only = names[0]
        return lambda row: (row[only],)
    return itemgetter(*names)
