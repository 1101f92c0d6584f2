"""The durable side of a deauthorization: a worker job that finishes at DrChrono what the
deauthorization could not (reliability OA-11: a revocation DrChrono did not confirm is retried).

`deauthorize` holds the job inside its own transaction, delayed (`JobsCleanupQueue.hold`), then
tries the DrChrono side at once; when DrChrono confirmed everything it deletes the job
(`settle`). Otherwise a worker (`chronobridge worker`, or the one `serve` embeds) runs it:
remove the provider group's iframe registration, revoke the tokens, again with a doubling pause
until DrChrono confirms; after the last attempt the provider's held token is revoked even if
the iframe could not be removed, and an audit row says what was abandoned. The job's input
carries the tokens; the workers store inputs encrypted under the hub's key ring.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from dbos import DBOS
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.connections import Cleanup, Services, audit_unconfirmed, finish_cleanup
from chronobridge.settings import Settings
from chronobridge.store import KeyRing
from chronobridge.workers import Database as JobsDatabase
from chronobridge.workers import Job, Jobs, QueueSpec, job_id

__all__ = [
    "CLEANUP_QUEUE",
    "CLEANUP_WORKFLOW_MODULE",
    "JobsCleanupQueue",
    "finish_deauthorization",
    "install_cleanup",
]

CLEANUP_QUEUE = QueueSpec(name="connections", worker_concurrency=2)
CLEANUP_WORKFLOW_MODULE = __name__
WORKFLOW = "chronobridge.connections.cleanup"
ATTEMPTS = 8
FIRST_PAUSE = 60.0  # seconds; doubles after every attempt DrChrono did not confirm (~4 h in all)
HOLD_DELAY = 120.0  # the job waits this long for the deauthorization's own attempt

Provider = Callable[[], Awaitable[Services]]
_provider: Provider | None = None
_by_loop: dict[int, Services] = {}


def install_cleanup(provider: Provider) -> None:
    """Tell this process how to build the services the cleanup job uses."""
    global _provider
    _provider = provider
    _by_loop.clear()


async def _services() -> Services:
    if _provider is None:
        raise RuntimeError("install_cleanup() was not called in this worker process")
    loop = id(asyncio.get_running_loop())
    found = _by_loop.get(loop)
    if found is None:
        found = _by_loop[loop] = await _provider()
    return found


@DBOS.workflow(name=WORKFLOW, max_recovery_attempts=10)
async def finish_deauthorization(work: dict[str, Any], first_pause: float = FIRST_PAUSE) -> bool:
    """True once DrChrono confirmed everything; False when the retries gave up."""
    for attempt in range(ATTEMPTS):
        work = await _attempt(work, last=attempt == ATTEMPTS - 1)
        if Cleanup.from_json(work).empty:
            return True
        if attempt < ATTEMPTS - 1:
            await DBOS.sleep_async(first_pause * 2**attempt)
    await _abandon(work)
    return False


@DBOS.step(name="chronobridge.connections.cleanup.attempt", retries_allowed=False)
async def _attempt(work: dict[str, Any], *, last: bool) -> dict[str, Any]:
    services = await _services()
    left = (await finish_cleanup(services, Cleanup.from_json(work))).left
    if last and left.iframe is not None and left.tokens:
        # The iframe stays registered; the provider's token must not stay live for its sake.
        revoked = await finish_cleanup(services, replace(left, iframe=None))
        left = replace(revoked.left, iframe=left.iframe)
    return left.as_json()


@DBOS.step(name="chronobridge.connections.cleanup.abandon", retries_allowed=False)
async def _abandon(work: dict[str, Any]) -> None:
    services = await _services()
    await audit_unconfirmed(services, Cleanup.from_json(work), actor="hub:worker", final=True)


class JobsCleanupQueue:
    """`CleanupQueue` over the workers' queue, for a process that does not run DBOS itself."""

    def __init__(
        self,
        settings: Settings,
        keys: KeyRing,
        *,
        delay: float = HOLD_DELAY,
        first_pause: float = FIRST_PAUSE,
    ) -> None:
        self._database = JobsDatabase.parse(settings.database)
        self._keys = keys
        self._delay = delay
        self._first_pause = first_pause
        self._jobs: Jobs | None = None

    async def prepare(self) -> None:
        """Create the workers' tables and the queue if needed: before the deauthorization's
        transaction (on SQLite that transaction holds the one write lock)."""
        if self._jobs is None:
            jobs = Jobs(self._database, self._keys)
            await jobs.prepare_async((CLEANUP_QUEUE,))
            self._jobs = jobs

    async def hold(self, tx: AsyncConnection, cleanup: Cleanup) -> None:
        jobs = self._ready()
        job = Job(queue=CLEANUP_QUEUE.name, workflow_id=_workflow_id(cleanup),
                  delay_seconds=self._delay)  # fmt: skip
        await jobs.enqueue_in_transaction(
            tx, job, finish_deauthorization, cleanup.as_json(), self._first_pause
        )

    async def settle(self, cleanup: Cleanup) -> None:
        await self._ready().client.delete_workflow_async(_workflow_id(cleanup))

    @property
    def jobs(self) -> Jobs:
        return self._ready()

    def close(self) -> None:
        if self._jobs is not None:
            self._jobs.close()

    def _ready(self) -> Jobs:
        if self._jobs is None:
            raise RuntimeError("JobsCleanupQueue.prepare() must run first")
        return self._jobs


def _workflow_id(cleanup: Cleanup) -> str:
    return job_id("deauthorize", cleanup.key)
