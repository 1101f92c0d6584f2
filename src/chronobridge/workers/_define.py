"""Declaring workflows and steps, with the hub's defaults.

    @workflow("chronobridge.webhooks.process")       # name: stable, stored with pending work
    async def process_delivery(delivery_id: str) -> int:
        record = await fetch_object(delivery_id)     # a step: checkpointed, retried
        return await store_object(record)

    @step()
    async def fetch_object(delivery_id: str) -> dict[str, object]: ...

Rules that make a `kill -9` at any point lose nothing and do nothing twice:
- Workflows are deterministic: the same inputs make the same step calls in the same order.
  Anything that talks to the outside world (HTTP, the database, the clock, randomness) is a step.
- Steps are idempotent: a step interrupted by a crash runs again from its start.
- Inputs, outputs and step results are ids, counts and small JSON values, never patient data:
  they are stored (encrypted) in DBOS's tables, and ids also in plain text.
- Raise errors from `chronobridge.errors`. Retriable ones (and unexpected exceptions) are retried
  by the step with exponential backoff; fatal and skippable ones fail at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from dbos import DBOS

from chronobridge.errors import HubError

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_MAX_RECOVERY_ATTEMPTS = 10
"""A job that crashes its worker this many times goes to the error queue instead of looping."""


def workflow(
    name: str, *, max_recovery_attempts: int = DEFAULT_MAX_RECOVERY_ATTEMPTS
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Register a workflow under a stable `name` (renaming strands pending work)."""
    return DBOS.workflow(name=name, max_recovery_attempts=max_recovery_attempts)


def should_retry(error: BaseException) -> bool:
    """Retry what may succeed later: Retriable hub errors and anything unexpected."""
    return not isinstance(error, HubError) or error.retriable


def step(
    *,
    name: str | None = None,
    attempts: int = 3,
    interval_sec: float = 1.0,
    backoff: float = 2.0,
    timeout_sec: float | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """A checkpointed step: `attempts` tries in all, `interval_sec * backoff**n` apart.

    `timeout_sec` applies to async steps only (DBOS cancels the attempt).
    """
    return DBOS.step(
        name=name,
        retries_allowed=attempts > 1,
        max_attempts=max(attempts, 1),
        interval_seconds=interval_sec,
        backoff_rate=backoff,
        should_retry=should_retry,
        timeout_seconds=timeout_sec,
    )
