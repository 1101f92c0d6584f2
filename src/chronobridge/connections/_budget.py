"""The client's `Budget` port over the store's shared budget row (every worker process counts
against the same hourly window of the application).

A reservation the store refuses raises `BudgetExhausted(resume_at)`. What happens then depends on
who asks (`WaitPolicy`): an interactive caller gets the error at once, with the time the budget
resumes; a background caller sleeps until `resume_at` when that is within its bound (a short 429
park, the last seconds of an hour) and gives up otherwise, so its durable job is rescheduled
rather than holding a worker for up to an hour.
"""

from __future__ import annotations

import random
from datetime import datetime

from chronobridge.connections._services import Services
from chronobridge.domain.budget import Priority
from chronobridge.errors import BudgetExhausted
from chronobridge.store import Budget

__all__ = ["SharedBudget"]

_JITTER = 0.25  # seconds: callers parked together do not all wake in the same millisecond


class SharedBudget:
    """One application's budget, as the client sees it."""

    def __init__(self, services: Services, *, app_id: int, app_name: str) -> None:
        self._services = services
        self._store = Budget(services.db)
        self.app_id = app_id
        self.app_name = app_name

    async def reserve(self, priority: Priority) -> None:
        waited = 0.0
        bound = self._services.policy.bound(priority)
        while True:
            try:
                await self._store.reserve(self.app_id, priority, now=self._services.now())
                return
            except BudgetExhausted as refused:
                self._services.metrics.refused(self.app_name, priority)
                wait = (refused.resume_at - self._services.now()).total_seconds()
                if waited + wait > bound:
                    raise self._explained(refused) from None
            pause = max(wait, 0.0) + random.uniform(0, _JITTER)
            await self._services.sleep(pause)
            waited += pause

    async def park(self, until: datetime) -> None:
        """DrChrono answered 429: no caller of this application sends before `until`."""
        await self._store.park(self.app_id, until, now=self._services.now())

    def _explained(self, refused: BudgetExhausted) -> BudgetExhausted:
        when = refused.resume_at.strftime("%H:%M:%S UTC")
        base = str(refused).rstrip(".")
        message = f"{base} (application {self.app_name!r}); calls resume at {when}"
        return BudgetExhausted(message, resume_at=refused.resume_at)
