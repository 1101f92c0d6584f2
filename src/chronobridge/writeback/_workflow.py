"""The durable write-back job: a DBOS workflow that runs the executor until the change settles.

    run_writeback(writeback_id)   # "chronobridge.writeback.run", on the `writeback` queue

Each attempt is one checkpointed step (`execute`); between attempts the workflow sleeps
durably (DBOS.sleep_async), for the time DrChrono or the budget named, else 2 s, 4 s, … up to
5 minutes, at most `MAX_ATTEMPTS` times; then the row is marked failed. 400 and 409 settle the
row on the first attempt: they are reported, never retried. A worker killed mid-attempt
re-runs the step after recovery: the outbox lease and the create lock make that safe, and a
create looks before it sends again.

The workflow lives here rather than in `chronobridge.workers` because the layers keep write-back
below the workers; it uses DBOS directly, with the same rules (ids in, small JSON out, no
patient data in inputs or results). Steps need the hub's services: the composition root calls
`install(provider)` in every process that runs workers; the provider is awaited once per event
loop (DBOS runs async workflows on its own loop, and an async engine belongs to one loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from dbos import DBOS

from chronobridge.errors import ConfigError
from chronobridge.store import Settled, WritebackStatus
from chronobridge.writeback import _sentences as say
from chronobridge.writeback._executor import execute
from chronobridge.writeback._services import WritebackServices

__all__ = [
    "MAX_ATTEMPTS",
    "QUEUE",
    "WORKFLOW",
    "current_services",
    "install",
    "retry_delay",
    "run_writeback",
    "workflow_id",
]

WORKFLOW = "chronobridge.writeback.run"
QUEUE = "writeback"
"""The queue the composition root adds to the workers' queues (QueueSpec(name=QUEUE))."""
MAX_ATTEMPTS = 8
MAX_DELAY = 300.0

Provider = Callable[[], Awaitable[WritebackServices]]
_provider: Provider | None = None
_by_loop: dict[int, WritebackServices] = {}


def install(provider: Provider) -> None:
    """Tell this process how to build the services its write-back steps use."""
    global _provider
    _provider = provider
    _by_loop.clear()


async def current_services() -> WritebackServices:
    if _provider is None:
        raise ConfigError(
            "Write-back jobs need chronobridge.writeback.install(...) in the worker process.",
            hint="Start workers through chronobridge.wiring, which installs it.",
        )
    loop = id(asyncio.get_running_loop())
    found = _by_loop.get(loop)
    if found is None:
        found = _by_loop[loop] = await _provider()
    return found


def workflow_id(writeback_id: int, submission: int) -> str:
    """Deterministic: one job per submission of a write-back (a resubmission is a new job)."""
    return f"writeback:{writeback_id}:{submission}"


def retry_delay(attempt: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return min(max(retry_after, 1.0), 3600.0)
    return min(2.0**attempt, MAX_DELAY)


@DBOS.workflow(name=WORKFLOW, max_recovery_attempts=10)
async def run_writeback(writeback_id: int) -> str:
    """Returns the final status of the write-back."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        result = await _attempt(writeback_id)
        if not result["again"]:
            return str(result["status"])
        if attempt < MAX_ATTEMPTS:
            await DBOS.sleep_async(retry_delay(attempt, result["retry_after"]))
    return await _give_up(writeback_id)


@DBOS.step(name="chronobridge.writeback.attempt", retries_allowed=False)
async def _attempt(writeback_id: int) -> dict[str, Any]:
    services = await current_services()
    attempt = await execute(services, writeback_id)
    return {
        "again": attempt.again,
        "status": attempt.stored.status.value,
        "retry_after": attempt.retry_after,
    }


@DBOS.step(name="chronobridge.writeback.give_up", retries_allowed=False)
async def _give_up(writeback_id: int) -> str:
    services = await current_services()
    current = await services.outbox.get(writeback_id)
    if current is None:
        return WritebackStatus.FAILED.value
    if current.status is not WritebackStatus.QUEUED:  # settled, or another execution has it
        return current.status.value
    failed = Settled(
        status=WritebackStatus.FAILED,
        error_class=current.error_class,
        message=say.gave_up(current.attempts),
    )
    settled = await services.outbox.settle(writeback_id, failed, now=services.now())
    return settled.status.value
