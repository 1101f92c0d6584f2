"""Group commit: concurrent deliveries share one transaction, and each is answered only after
that transaction committed.

SQLite has one writer and a commit costs a flush to disk (`synchronous=FULL`). Committing each
delivery on its own caps the receiver at the disk's flush rate; batching amortizes the flush.
No timer is needed: while one batch is being written (in the writer's own thread), the next
requests queue up, and the next batch takes all of them at once. A lone request is written at
once, so low load keeps the lowest latency.

Inside the transaction the batch's new deliveries get their job too (`enqueue`: one job per
batch, which hands each delivery its own processing job), so a committed delivery always has
its job and a rolled-back one has neither. One enqueue per batch rather than per delivery is
what lets SQLite store thousands of deliveries a second: DBOS's enqueue costs more CPU than
everything else a delivery needs. A request that waited longer
than its deadline is answered 503 (it may still be committed later: DrChrono's retry is then
a duplicate, answered 200 with no second effect; never a 2xx unless stored).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import sqlalchemy as sa

from chronobridge.ingress._metrics import BATCH_SIZE
from chronobridge.store import NewDelivery, write_deliveries

__all__ = ["Enqueue", "InboxWriter", "Unavailable", "Written"]

log = logging.getLogger("chronobridge.ingress")

Enqueue = Callable[[sa.Connection, list[int]], None]
"""Enqueue the job of a batch's new deliveries (row ids) inside the writer's transaction."""


class Unavailable(Exception):
    """The delivery could not be stored now (database down or too slow): answer 503."""


@dataclass(frozen=True, slots=True)
class Written:
    row_id: int | None
    """The new row's id; None when the delivery was stored before (a redelivery)."""

    @property
    def created(self) -> bool:
        return self.row_id is not None


@dataclass(slots=True)
class _Pending:
    item: NewDelivery
    future: asyncio.Future[Written] = field(default_factory=lambda: _loop().create_future())
    expired: bool = False


def _expire(pending: _Pending) -> None:
    if not pending.future.done():
        pending.expired = True
        pending.future.cancel()  # skipped if not taken yet; harmless if already written


def _loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


class InboxWriter:
    """Stores deliveries in batches on a sync engine, in one dedicated thread."""

    def __init__(self, engine: sa.Engine, enqueue: Enqueue, *, max_batch: int = 256) -> None:
        self._engine = engine
        self._enqueue = enqueue
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox-writer")
        self._task: asyncio.Task[None] | None = None

    async def write(self, item: NewDelivery, *, within: float) -> Written:
        """Store `item` (or find it stored) and return once committed; `Unavailable` otherwise."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="inbox-writer")
        pending = _Pending(item)
        self._queue.put_nowait(pending)
        # A timer rather than asyncio.wait_for: this is the hot path, and cancelling the
        # future only means "do not wait any longer" (a batch already written stays written).
        timer = pending.future.get_loop().call_later(within, _expire, pending)
        try:
            return await pending.future
        except asyncio.CancelledError:
            if pending.expired:
                raise Unavailable("timeout") from None
            raise
        finally:
            timer.cancel()

    async def close(self) -> None:
        """Write what is queued, then stop the thread and release the engine."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        leftovers = []
        while not self._queue.empty():
            pending = self._queue.get_nowait()
            if not pending.future.done():
                leftovers.append(pending)
        if leftovers:
            await self._commit(leftovers)
        await asyncio.to_thread(self._thread.shutdown, wait=True)
        self._engine.dispose()

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            live = [pending for pending in batch if not pending.future.done()]
            if live:  # shielded: a cancelled writer still settles the batch it started
                await asyncio.shield(self._commit(live))

    async def _commit(self, batch: list[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        try:
            created = await loop.run_in_executor(self._thread, self._write_all, batch)
        except Exception as error:
            log.warning("Inbox write failed (%s); answering 503", type(error).__name__)
            for pending in batch:
                _settle(pending, error=Unavailable(type(error).__name__))
            return
        BATCH_SIZE.observe(len(batch))
        for pending in batch:
            _settle(pending, result=Written(created.get(pending.item.key)))

    def _write_all(self, batch: Sequence[_Pending]) -> dict[tuple[int, str], int]:
        """In the writer thread: one transaction; a batch refused for one of its items (a
        constraint) is written again item by item, so one bad delivery fails alone."""
        items = [pending.item for pending in batch]
        try:
            return self._transaction(items)
        except (sa.exc.IntegrityError, sa.exc.DataError):
            if len(items) == 1:
                raise
        created: dict[tuple[int, str], int] = {}
        for pending in batch:
            try:
                created.update(self._transaction([pending.item]))
            except (sa.exc.IntegrityError, sa.exc.DataError) as error:
                pending.future.get_loop().call_soon_threadsafe(
                    _settle, pending, None, Unavailable(type(error).__name__)
                )
        return created

    def _transaction(self, items: Sequence[NewDelivery]) -> dict[tuple[int, str], int]:
        with self._engine.begin() as conn:
            created = write_deliveries(conn, items)
            to_process = sorted(
                created[item.key]
                for item in items
                if item.status == "received" and item.key in created
            )
            if to_process:
                self._enqueue(conn, list(dict.fromkeys(to_process)))
        return created


def _settle(
    pending: _Pending, result: Written | None = None, error: BaseException | None = None
) -> None:
    if pending.future.done():
        return
    if error is not None:
        pending.future.set_exception(error)
    elif result is not None:
        pending.future.set_result(result)
