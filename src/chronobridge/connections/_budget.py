"""The client's `Budget` port over the store's shared budget row (every worker process counts
against the same hourly window of the application).

A reservation the store refuses raises `BudgetExhausted(resume_at)`. What happens then depends on
who asks (`WaitPolicy`): an interactive caller gets the error at once, with the time the budget
resumes; a background caller sleeps until `resume_at` when that is within its bound (a short 429
park, the last seconds of an hour) and gives up otherwise, so its durable job is rescheduled
rather than holding a worker for up to an hour.

A budget for a connection (`connection_id`) also refuses once the connection is no longer
active, in the same statement: a worker that still holds the token in memory sends nothing
after a deauthorization (OA-11). Calls within `Services.window_margin` of the top of the hour
count in both windows (DrChrono's clock is not ours).
"""

from __future__ import annotations

import random
from datetime import datetime

from chronobridge.connections._services import Services
from chronobridge.connections._status import gone
from chronobridge.domain.budget import Priority
from chronobridge.errors import BudgetExhausted, NeedsReconnect
from chronobridge.store import Budget, Connections

__all__ = ["SharedBudget"]

_JITTER = 0.25  # seconds: callers parked together do not all wake in the same millisecond


class SharedBudget:
    """One application's budget, as the client sees it."""

    def __init__(
        self,
        services: Services,
        *,
        app_id: int,
        app_name: str,
        limit: int | None = None,
        connection_id: int | None = None,
    ) -> None:
        self._services = services
        self._store = Budget(services.db)
        self.app_id = app_id
        self.app_name = app_name
        self.limit = limit  # the app's hourly limit as loaded (None: the store reads it)
        self.connection_id = connection_id

    async def reserve(self, priority: Priority) -> None:
        waited = 0.0
        bound = self._services.policy.bound(priority)
        while True:
            try:
                await self._take(priority)
                return
            except NeedsReconnect:
                raise await self._gone() from None
            except BudgetExhausted as refused:
                self._services.metrics.refused(self.app_name, priority)
                wait = (refused.resume_at - self._services.now()).total_seconds()
                if waited + wait > bound:
                    raise self._explained(refused) from None
            pause = max(wait, 0.0) + random.uniform(0, _JITTER)
            await self._services.sleep(pause)
            waited += pause

    async def _take(self, priority: Priority) -> None:
        await self._store.reserve(
            self.app_id, priority, now=self._services.now(), limit=self.limit,
            connection_id=self.connection_id, margin=self._services.window_margin,
        )  # fmt: skip

    async def _gone(self) -> NeedsReconnect:
        """The connection left `active` (another process deauthorized it, or its grant died):
        this process forgets its token too, and the error says what to run."""
        assert self.connection_id is not None
        source = self._services.sources.get(self.connection_id)
        if source is not None:
            source.forget()
        found = await Connections(self._services.db).get(self.connection_id)
        if found is None:
            return NeedsReconnect(f"Connection {self.connection_id} no longer exists",
                                  hint="Run chronobridge connect.")  # fmt: skip
        return gone(found)

    async def park(self, until: datetime) -> None:
        """DrChrono answered 429: no caller of this application sends before `until`."""
        await self._store.park(self.app_id, until, now=self._services.now())

    def _explained(self, refused: BudgetExhausted) -> BudgetExhausted:
        when = refused.resume_at.strftime("%H:%M:%S UTC")
        base = str(refused).rstrip(".")
        message = f"{base} (application {self.app_name!r}); calls resume at {when}"
        explained = BudgetExhausted(message, resume_at=refused.resume_at)
        explained.hint = refused.hint  # the wait in words, from the store
        return explained
