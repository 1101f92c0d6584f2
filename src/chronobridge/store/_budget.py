"""The shared API budget: one row per app and hourly window, spent by every worker.

`reserve` is one conditional UPDATE: `used = used + cost WHERE used + cost <= ceiling AND not
parked`. On PostgreSQL, concurrent UPDATEs of the row queue on its row lock and each re-checks
the condition against the committed count; on SQLite the write transaction (BEGIN IMMEDIATE)
serializes them. Either way no two callers can take the last call, in any number of processes.
The ceiling comes from the priority policy in chronobridge.domain.budget.

After a 429, `park` writes `parked_until` on every window up to DrChrono's resume time, and every
`reserve` of every worker refuses until then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.domain.budget import Priority, ceiling, window_end, window_start, windows_between
from chronobridge.errors import BudgetExhausted, ConfigError
from chronobridge.store._common import utcnow
from chronobridge.store._database import Database
from chronobridge.store.tables import apps, budget_windows

__all__ = ["Budget", "BudgetUsage", "Reservation"]

_W = budget_windows.c


@dataclass(frozen=True, kw_only=True)
class Reservation:
    """A granted reservation: the calls may be sent now."""

    app_id: int
    priority: Priority
    window_start: datetime
    used: int  # calls counted in the window, this one included
    limit: int


@dataclass(frozen=True, kw_only=True)
class BudgetUsage:
    """The state of an app's current window (`chronobridge budget`, metrics)."""

    app_id: int
    window_start: datetime
    window_end: datetime
    limit: int
    used: int
    by_priority: dict[Priority, int]
    parked_until: datetime | None

    def available(self, priority: Priority) -> int:
        """How many more calls `priority` may reserve in this window (ignoring a park)."""
        return max(0, ceiling(priority, self.limit) - self.used)


class Budget:
    """The budget_windows table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def reserve(
        self, app_id: int, priority: Priority, *, now: datetime | None = None, cost: int = 1
    ) -> Reservation:
        """Count `cost` calls against the window, or raise BudgetExhausted(resume_at)."""
        stamp = utcnow(now)
        start = window_start(stamp)
        async with self._db.write() as conn:
            limit = await _limit(conn, app_id)
            await self._open_window(conn, app_id, start)
            used = await _take(conn, app_id, start, priority, cost, ceiling(priority, limit), stamp)
            if used is None:  # leaving by exception rolls back; nothing else was written
                raise _refusal(await _window(conn, app_id, start), stamp, priority)
        return Reservation(
            app_id=app_id, priority=priority, window_start=start, used=used, limit=limit
        )

    async def park(self, app_id: int, until: datetime, *, now: datetime | None = None) -> datetime:
        """Refuse every reservation of this app until `until` (DrChrono's 429 said so)."""
        stamp = utcnow(now)
        until = utcnow(until)
        async with self._db.write() as conn:
            for start in windows_between(stamp, until):
                await conn.execute(self._park_window(app_id, start, until))
        return until

    async def usage(self, app_id: int, *, now: datetime | None = None) -> BudgetUsage:
        stamp = utcnow(now)
        start = window_start(stamp)
        async with self._db.read() as conn:
            limit = await _limit(conn, app_id)
            row = await _window(conn, app_id, start)
        counts = {p: 0 if row is None else row[f"used_{p.value}"] for p in Priority}
        parked = None if row is None else row["parked_until"]
        return BudgetUsage(
            app_id=app_id,
            window_start=start,
            window_end=window_end(stamp),
            limit=limit,
            used=0 if row is None else row["used"],
            by_priority=counts,
            parked_until=parked if parked is not None and parked > stamp else None,
        )

    async def prune(self, *, before: datetime) -> int:
        """Delete windows that started before `before` (kept for history until then)."""
        async with self._db.write() as conn:
            result = await conn.execute(budget_windows.delete().where(_W.window_start < before))
        return result.rowcount

    async def _open_window(self, conn: AsyncConnection, app_id: int, start: datetime) -> None:
        insert = self._db.insert(budget_windows).values(app_id=app_id, window_start=start)
        await conn.execute(insert.on_conflict_do_nothing(index_elements=["app_id", "window_start"]))

    def _park_window(self, app_id: int, start: datetime, until: datetime) -> Any:
        insert = self._db.insert(budget_windows).values(
            app_id=app_id, window_start=start, parked_until=until
        )
        later = sa.case(
            (
                sa.or_(_W.parked_until.is_(None), _W.parked_until < insert.excluded.parked_until),
                insert.excluded.parked_until,
            ),
            else_=_W.parked_until,
        )
        return insert.on_conflict_do_update(
            index_elements=["app_id", "window_start"], set_={"parked_until": later}
        )


async def _limit(conn: AsyncConnection, app_id: int) -> int:
    limit = await conn.scalar(sa.select(apps.c.rate_limit).where(apps.c.id == app_id))
    if limit is None:
        raise ConfigError(f"No application with id {app_id}.")
    return int(limit)


async def _take(
    conn: AsyncConnection,
    app_id: int,
    start: datetime,
    priority: Priority,
    cost: int,
    cap: int,
    now: datetime,
) -> int | None:
    counter = _W[f"used_{priority.value}"]
    stmt = (
        budget_windows.update()
        .where(
            _W.app_id == app_id,
            _W.window_start == start,
            _W.used + cost <= cap,
            sa.or_(_W.parked_until.is_(None), _W.parked_until <= now),
        )
        .values({_W.used: _W.used + cost, counter: counter + cost})
        .returning(_W.used)
    )
    used = (await conn.execute(stmt)).scalar_one_or_none()
    return None if used is None else int(used)


async def _window(conn: AsyncConnection, app_id: int, start: datetime) -> Any:
    stmt = budget_windows.select().where(_W.app_id == app_id, _W.window_start == start)
    row = (await conn.execute(stmt)).first()
    return None if row is None else row._mapping


def _refusal(row: Any, now: datetime, priority: Priority) -> BudgetExhausted:
    parked = None if row is None else row["parked_until"]
    if parked is not None and parked > now:
        return BudgetExhausted(
            "DrChrono asked this application to pause (429); every worker waits.", resume_at=parked
        )
    return BudgetExhausted(
        f"The hourly API budget for {priority.value} calls is spent.", resume_at=window_end(now)
    )
