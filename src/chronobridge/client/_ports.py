"""The ports the client calls out through: tokens, the shared rate budget, the API log.

The connection store (tokens, single-flight refresh across processes), the persisted budget of
the application (500 calls per hour, shared by every worker) and the API log implement these
later; `_memory.py` ships in-process versions for tests and scripts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

# One priority vocabulary for the client and the persisted budget (the store's policy):
# interactive > webhook > poll > backfill.
from chronobridge.domain.budget import Priority
from chronobridge.errors import NeedsReconnect

__all__ = ["Budget", "CallObserver", "CallRecord", "Priority", "TokenSource"]


@runtime_checkable
class TokenSource(Protocol):
    """The access token of one connection (one DrChrono user of one application)."""

    async def access_token(self) -> str:
        """The current access token."""
        ...

    async def refreshed(self, stale_token: str) -> str:
        """A token newer than `stale_token`, which DrChrono just refused with 401.

        Single flight is the implementer's job: when another caller already replaced
        `stale_token`, return the replacement without refreshing again. Raise
        `NeedsReconnect` (or an `OAuthError`) when no new token can be had.
        """
        ...

    async def rejected(self, fresh_token: str) -> NeedsReconnect:
        """DrChrono refused `fresh_token` too, right after `refreshed` gave it: the grant is
        dead (reliability OA-9). Record that, and return the error the caller raises."""
        ...


@runtime_checkable
class Budget(Protocol):
    """The application's hourly call budget, shared by every caller of that application."""

    async def reserve(self, priority: Priority) -> None:
        """Take one call from the budget before sending; wait, or raise `BudgetExhausted`."""
        ...

    async def park(self, until: datetime) -> None:
        """DrChrono answered 429: no caller of this application may send before `until`."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRecord:
    """One HTTP exchange with DrChrono, as the API log keeps it: no query values, no bodies.

    `path` is the catalog template (`/api/patients/{id}`), `status` is 0 when no answer came
    (transport failure), `bytes_in`/`bytes_out` are body sizes.
    """

    method: str
    path: str
    status: int
    duration_ms: float
    bytes_in: int
    bytes_out: int
    request_id: str | None
    operation: str | None
    priority: Priority
    started_at: datetime


@runtime_checkable
class CallObserver(Protocol):
    """Told about every call after it ends (the API log, metrics)."""

    async def observe(self, call: CallRecord) -> None: ...
