"""Group commit: concurrent deliveries share one transaction, and each is answered only after
that transaction committed.

SQLite has one writer and a commit costs a flush to disk (`synchronous=FULL`). Committing each
delivery on its own caps the receiver at the disk's flush rate; batching amortizes the flush.
No timer is needed: while one batch is being written, the next requests queue up, and the next
batch takes all of them at once. A lone request is written at once, so low load keeps the
lowest latency.

The batch is stored by a `Backend`: the writer process (`WriterProcess`, what `serve` uses: the
parsing, encryption, SQL and DBOS enqueue of a batch run on another core, outside this
process's GIL) or a thread of this process (`ThreadBackend`). Either way the batch's deliveries
and their jobs commit in one transaction (`BatchStore`).

A request that waited longer than `ack_timeout` is answered 503 (its batch may still commit
later: DrChrono's retry is then a duplicate, answered 200 with no second effect; never a 2xx
unless stored). All requests have the same timeout, so one timer serves them (`Deadlines`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from chronobridge.ingress._deadlines import Deadlines
from chronobridge.ingress._inbox_batch import Arrival, BatchStore
from chronobridge.ingress._metrics import BATCH_SIZE

__all__ = ["Backend", "InboxWriter", "ThreadBackend", "Unavailable"]

log = logging.getLogger("chronobridge.ingress")


class Unavailable(Exception):
    """The delivery could not be stored now (database down or too slow): answer 503."""


class Backend(Protocol):
    async def store(self, arrivals: Sequence[Arrival]) -> list[str]:
        """One outcome per arrival (`BatchStore.store`); raises when nothing was stored."""
        ...

    async def close(self) -> None: ...


class ThreadBackend:
    """Stores batches in one dedicated thread of this process."""

    def __init__(self, store: BatchStore) -> None:
        self._store = store
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox-writer")

    async def store(self, arrivals: Sequence[Arrival]) -> list[str]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._store.store, arrivals)

    async def close(self) -> None:
        await asyncio.to_thread(self._thread.shutdown, wait=True)
        self._store.engine.dispose()


Pending = tuple[Arrival, "asyncio.Future[str]"]


def _expire(pending: Pending) -> None:
    pending[1].set_exception(Unavailable("timeout"))


def _settled(pending: Pending) -> bool:
    return pending[1].done()


class InboxWriter:
    """Batches concurrent arrivals for a `Backend`, one batch at a time."""

    def __init__(self, backend: Backend, *, ack_timeout: float, max_batch: int = 256) -> None:
        self._backend = backend
        self._max_batch = max_batch
        self._pending: list[Pending] = []
        self._deadlines: Deadlines[Pending] = Deadlines(ack_timeout, expire=_expire, done=_settled)
        self._wake: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def backend(self) -> Backend:
        return self._backend

    async def write(self, arrival: Arrival) -> str:
        """Store `arrival` (or find it stored): its outcome once committed; `Unavailable` when
        the database did not store it within `ack_timeout`."""
        loop = asyncio.get_running_loop()
        pending: Pending = (arrival, loop.create_future())
        self._pending.append(pending)
        self._deadlines.add(pending)
        if self._task is None:
            self._task = loop.create_task(self._run(), name="inbox-writer")
        else:
            self._wakeup()
        return await pending[1]

    async def close(self) -> None:
        """Write what is queued, then stop the backend."""
        self._closing = True
        if self._task is not None:
            self._wakeup()
            await self._task
        while self._pending:
            await self._commit(self._take())
        self._deadlines.close()
        await self._backend.close()

    def _wakeup(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = self._take()
            if batch:
                await self._commit(batch)
            elif self._closing:
                return
            else:
                self._wake = loop.create_future()
                await self._wake

    def _take(self) -> list[Pending]:
        """The next batch: the oldest waiting requests that have not given up."""
        live = [pending for pending in self._pending if not pending[1].done()]
        batch, self._pending = live[: self._max_batch], live[self._max_batch :]
        return batch

    async def _commit(self, batch: list[Pending]) -> None:
        try:
            outcomes = await self._backend.store([arrival for arrival, _ in batch])
        except Exception as error:
            log.warning("Inbox write failed (%s); answering 503", type(error).__name__)
            for _, future in batch:
                if not future.done():
                    future.set_exception(Unavailable(type(error).__name__))
            return
        BATCH_SIZE.observe(len(batch))
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if not future.done():
                future.set_result(outcome)
