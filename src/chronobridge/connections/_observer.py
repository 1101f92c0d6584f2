"""The client's `CallObserver` port: every call to DrChrono goes to the API log and the metrics.

The record carries the path template, status, timing and sizes, never a query or a body.
`Deferred` collects records while a refresh holds the token lock (on SQLite a second write
would wait for that very lock) and hands them over once it is released.
"""

from __future__ import annotations

from chronobridge.client import CallObserver, CallRecord, error_class_for
from chronobridge.connections._services import Services
from chronobridge.store import ApiCall, ApiCallLog

__all__ = ["ApiLogObserver", "Deferred", "error_class"]


def error_class(status: int) -> str | None:
    """The name of the error a status becomes (None for a success or a redirect)."""
    found = error_class_for(status)
    return found.__name__ if found else None


class ApiLogObserver:
    """Writes one api_calls row per call and counts it in the metrics."""

    def __init__(
        self, services: Services, *, app_id: int, app_name: str, connection_id: int | None
    ) -> None:
        self._services = services
        self._log = ApiCallLog(services.db)
        self.app_id = app_id
        self.app_name = app_name
        self.connection_id = connection_id

    async def observe(self, call: CallRecord) -> None:
        self._services.metrics.call(self.app_name, call.status, call.priority)
        await self._log.record(
            ApiCall(
                at=call.started_at,
                app_id=self.app_id,
                connection_id=self.connection_id,
                method=call.method,
                path=call.path,
                status=call.status,
                duration_ms=round(call.duration_ms),
                bytes_in=call.bytes_in,
                bytes_out=call.bytes_out,
                priority=call.priority,
                operation=call.operation,
                request_id=call.request_id,
                error_class=error_class(call.status),
            )
        )


class Deferred:
    """Keeps records until `flush` passes them to the real observer."""

    def __init__(self) -> None:
        self.calls: list[CallRecord] = []

    async def observe(self, call: CallRecord) -> None:
        self.calls.append(call)

    async def flush(self, observer: CallObserver | None) -> None:
        calls, self.calls = self.calls, []
        if observer is None:
            return
        for call in calls:
            await observer.observe(call)
