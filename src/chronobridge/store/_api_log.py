"""The API call log: one row per call to DrChrono, for the admin UI and metrics.

Only the path *template* is kept (`/api/patients/{id}`), never query values or bodies: those can
carry patient data. A path that still has a query string is cut at the `?`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.domain.budget import Priority
from chronobridge.store._database import Database
from chronobridge.store.tables import api_calls

__all__ = ["ApiCall", "ApiCallLog", "LoggedCall"]

# Built once: one row per call to DrChrono, and building an INSERT costs about as much CPU as
# SQLite takes to run it.
_INSERT = api_calls.insert().returning(api_calls.c.id)


@dataclass(frozen=True, kw_only=True)
class ApiCall:
    """One HTTP exchange with DrChrono (the fields of the client's CallRecord, plus who)."""

    at: datetime
    app_id: int
    connection_id: int | None
    method: str
    path: str  # the catalog's path template
    status: int  # 0 when no answer came (transport error)
    duration_ms: int
    bytes_in: int
    bytes_out: int
    priority: Priority
    operation: str | None = None  # the catalog operation name
    request_id: str | None = None
    error_class: str | None = None  # the chronobridge.errors class name, if the call failed


@dataclass(frozen=True, kw_only=True)
class LoggedCall(ApiCall):
    id: int


class ApiCallLog:
    """The api_calls table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, call: ApiCall, *, tx: AsyncConnection | None = None) -> int:
        values = {
            "at": call.at,
            "app_id": call.app_id,
            "connection_id": call.connection_id,
            "method": call.method.upper(),
            "path": call.path.split("?", 1)[0][:300],
            "operation": call.operation,
            "status": call.status,
            "duration_ms": call.duration_ms,
            "bytes_in": call.bytes_in,
            "bytes_out": call.bytes_out,
            "priority": call.priority.value,
            "request_id": call.request_id,
            "error_class": call.error_class,
        }
        async with self._db.write(tx) as conn:
            result = await conn.execute(_INSERT, values)
        return int(result.scalar_one())

    async def recent(
        self,
        *,
        limit: int = 100,
        app_id: int | None = None,
        connection_id: int | None = None,
        since: datetime | None = None,
    ) -> list[LoggedCall]:
        """Newest first."""
        stmt = api_calls.select().order_by(api_calls.c.id.desc()).limit(limit)
        if app_id is not None:
            stmt = stmt.where(api_calls.c.app_id == app_id)
        if connection_id is not None:
            stmt = stmt.where(api_calls.c.connection_id == connection_id)
        if since is not None:
            stmt = stmt.where(api_calls.c.at >= since)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [_logged(row._mapping) for row in rows]

    async def prune(self, *, before: datetime) -> int:
        async with self._db.write() as conn:
            result = await conn.execute(api_calls.delete().where(api_calls.c.at < before))
        return result.rowcount


def _logged(row: Any) -> LoggedCall:
    values = dict(row)
    values["priority"] = Priority(values["priority"])
    return LoggedCall(**values)
