"""The shared API budget: one row per app and hourly window, spent by every worker.

`reserve` is one conditional upsert per window: `INSERT … ON CONFLICT DO UPDATE SET used = used
+ cost WHERE used + cost <= ceiling AND not parked RETURNING used` (a new window's row is
created by the same statement). On PostgreSQL, concurrent upserts of the row queue on its row
lock and each re-checks the condition against the committed count; on SQLite the write
transaction (BEGIN IMMEDIATE) serializes them. Either way no two callers can take the last
call, in any number of processes. The ceiling comes from the priority policy in
chronobridge.domain.budget.

Two options keep the store the one place that decides whether a call may go out:
- `connection_id`: the same statement takes the call only while that connection is `active`,
  so a worker that still holds a token in memory sends nothing once the connection was
  deauthorized or needs reconnecting (reliability OA-11), at no extra round trip;
- `margin`: DrChrono's clock and ours differ a little and a call takes time to arrive, so a call
  made within `margin` of the top of the hour may be counted by DrChrono in either window: it
  is counted in both here, and must fit in both.

After a 429, `park` writes `parked_until` on every window up to DrChrono's resume time, and every
`reserve` of every worker refuses until then.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.domain.budget import (
    WINDOW,
    Priority,
    ceiling,
    window_end,
    window_start,
    windows_between,
)
from chronobridge.errors import BudgetExhausted, ConfigError, NeedsReconnect
from chronobridge.store._common import ConnectionStatus, utcnow
from chronobridge.store._database import Database
from chronobridge.store.tables import apps, budget_windows, connections

__all__ = ["Budget", "BudgetUsage", "Reservation", "wait_words"]

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
        self,
        app_id: int,
        priority: Priority,
        *,
        now: datetime | None = None,
        cost: int = 1,
        limit: int | None = None,
        connection_id: int | None = None,
        margin: timedelta = timedelta(0),
    ) -> Reservation:
        """Count `cost` calls against the window, or raise BudgetExhausted(resume_at).

        `limit`: the app's hourly limit when the caller has it (saves reading it); with
        `connection_id`, NeedsReconnect unless that connection is active."""
        stamp = utcnow(now)
        counted, own = _windows(stamp, margin), window_start(stamp)
        async with self._db.write() as conn:
            limit = limit if limit is not None else await _limit(conn, app_id)
            cap = ceiling(priority, limit)
            for start in counted:  # oldest first: PostgreSQL locks the rows in one order
                take, values = self._take(app_id, start, priority, cost, cap, stamp,
                                          connection_id)  # fmt: skip
                used = (await conn.execute(take, values)).scalar_one_or_none()
                if used is None:  # leaving by exception rolls back what this call took
                    later = counted[counted.index(start) :]
                    raise await self._refused(conn, app_id, later, stamp, priority, cost, cap,
                                              connection_id, margin)  # fmt: skip
                if start == own:
                    mine = int(used)
        return Reservation(
            app_id=app_id, priority=priority, window_start=own, used=mine, limit=limit
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
        async with self._db.read() as conn:
            limit = await _limit(conn, app_id)
            row = await _window(conn, app_id, window_start(stamp))
        return _usage(app_id, limit, row, stamp)

    async def usage_by_app(self, *, now: datetime | None = None) -> dict[str, BudgetUsage]:
        """Every application's current window in one query, by app name (metrics scrapes)."""
        stamp = utcnow(now)
        start = window_start(stamp)
        joined = apps.outerjoin(
            budget_windows, sa.and_(_W.app_id == apps.c.id, _W.window_start == start)
        )
        stmt = sa.select(apps.c.id, apps.c.name, apps.c.rate_limit, budget_windows).select_from(
            joined
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt.order_by(apps.c.id))).all()
        found = {}
        for row in rows:
            window = row._mapping if row.used is not None else None
            found[row.name] = _usage(row.id, int(row.rate_limit), window, stamp)
        return found

    async def prune(self, *, before: datetime) -> int:
        """Delete windows that started before `before` (kept for history until then)."""
        async with self._db.write() as conn:
            result = await conn.execute(budget_windows.delete().where(_W.window_start < before))
        return result.rowcount

    def _take(
        self,
        app_id: int,
        start: datetime,
        priority: Priority,
        cost: int,
        cap: int,
        now: datetime,
        connection_id: int | None,
    ) -> tuple[Any, dict[str, Any]]:
        """One statement: create the window's row with `cost` calls, or add `cost` to it, if
        that stays under `cap`, the window is not parked (and the connection is active)."""
        params = {"app_id": app_id, "start": start, "cost": cost, "cap": cap, "now": now,
                  "connection_id": connection_id}  # fmt: skip
        checked = connection_id is not None
        return _take_statement(self._db.dialect, priority, checked=checked), params

    async def _refused(
        self,
        conn: AsyncConnection,
        app_id: int,
        counted: list[datetime],
        now: datetime,
        priority: Priority,
        cost: int,
        cap: int,
        connection_id: int | None,
        margin: timedelta,
    ) -> Exception:
        """Why the first of `counted` refused, and when every one of them has room again."""
        if connection_id is not None and not await conn.scalar(sa.select(_active(connection_id))):
            return NeedsReconnect(f"Connection {connection_id} is not active")
        refusals = []
        for start in counted:
            row = await _window(conn, app_id, start)
            if start == counted[0] or _blocks(row, now, cost, cap):
                refusals.append(_refusal(row, start, now, priority, margin))
        return max(refusals, key=lambda refusal: refusal.resume_at)

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


def _windows(now: datetime, margin: timedelta) -> list[datetime]:
    """The windows a call at `now` counts in: its own, and the neighbour within `margin`."""
    start = window_start(now)
    counted = [start]
    if margin and now - margin < start:
        counted.insert(0, start - WINDOW)
    if margin and now + margin >= start + WINDOW:
        counted.append(start + WINDOW)
    return counted


def _active(connection_id: int | sa.BindParameter[int]) -> sa.Exists:
    return sa.exists().where(
        connections.c.id == connection_id,
        connections.c.status == ConnectionStatus.ACTIVE.value,
    )


@functools.cache
def _take_statement(dialect: str, priority: Priority, *, checked: bool) -> Any:
    """Built once per shape (building a statement costs more than running it on SQLite)."""
    cost, cap = sa.bindparam("cost", type_=sa.Integer), sa.bindparam("cap", type_=sa.Integer)
    allowed: list[sa.ColumnElement[bool]] = [cost <= cap]
    if checked:
        allowed.append(_active(sa.bindparam("connection_id", type_=sa.Integer)))
    row = sa.select(
        sa.bindparam("app_id", type_=sa.Integer),
        sa.bindparam("start", type_=_W.window_start.type),
        cost, cost,
    ).where(*allowed)  # fmt: skip
    counter = f"used_{priority.value}"
    insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(budget_windows)
    now = sa.bindparam("now", type_=_W.parked_until.type)
    return (
        insert.from_select(["app_id", "window_start", "used", counter], row)
        .on_conflict_do_update(
            index_elements=["app_id", "window_start"],
            set_={"used": _W.used + cost, counter: _W[counter] + cost},
            where=sa.and_(
                _W.used + cost <= cap, sa.or_(_W.parked_until.is_(None), _W.parked_until <= now)
            ),
        )
        .returning(_W.used)
    )


async def _window(conn: AsyncConnection, app_id: int, start: datetime) -> Any:
    stmt = budget_windows.select().where(_W.app_id == app_id, _W.window_start == start)
    row = (await conn.execute(stmt)).first()
    return None if row is None else row._mapping


def _usage(app_id: int, limit: int, row: Any, now: datetime) -> BudgetUsage:
    counts = {p: 0 if row is None else row[f"used_{p.value}"] for p in Priority}
    parked = None if row is None else row["parked_until"]
    return BudgetUsage(
        app_id=app_id,
        window_start=window_start(now),
        window_end=window_end(now),
        limit=limit,
        used=0 if row is None else row["used"],
        by_priority=counts,
        parked_until=parked if parked is not None and parked > now else None,
    )


def _blocks(row: Any, now: datetime, cost: int, cap: int) -> bool:
    if row is None:
        return cost > cap
    parked = row["parked_until"]
    return bool(row["used"] + cost > cap or (parked is not None and parked > now))


def _refusal(
    row: Any, start: datetime, now: datetime, priority: Priority, margin: timedelta
) -> BudgetExhausted:
    parked = None if row is None else row["parked_until"]
    if parked is not None and parked > now:
        refused = BudgetExhausted(
            "DrChrono asked this application to pause (429); every worker waits.", resume_at=parked
        )
        why = "when DrChrono's pause ends"
    else:
        # Calls within `margin` after the window's end still count in it: they resume after.
        refused = BudgetExhausted(
            f"The hourly API budget for {priority.value} calls is spent.",
            resume_at=start + WINDOW + margin,
        )
        why = "when the hourly window turns"
    wait = wait_words((refused.resume_at - now).total_seconds())
    refused.hint = f"Try again in {wait}, {why}; chronobridge budget shows the use."
    return refused


def wait_words(seconds: float) -> str:
    """A wait as a person reads it: "45 s", "2 min", "1 h 5 min"."""
    whole = max(round(seconds), 1)
    if whole < 120:
        return f"{whole} s"
    minutes = round(whole / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"
