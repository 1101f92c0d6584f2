"""Executor heartbeats and the orphan sweeper.

DBOS recovers an executor's PENDING workflows only when a process with the same executor id
launches again. When a machine is gone for good, its work would wait forever; so every worker
refreshes a heartbeat row, and any live worker (every `sweep_interval_sec`, or the operator via
`chronobridge worker sweep`) re-enqueues the PENDING workflows of executors whose heartbeat is
older than `dead_after_sec` or that stopped. Times come from the database clock, never the
worker's. Re-enqueueing is conditional on the workflow still being PENDING on the dead
executor, so sweepers racing each other, or the dead executor's own restart, hand each
workflow out once. DBOS fences stale executions (a step result is recorded only by the current
owner), so an executor wrongly presumed dead loses its in-flight step, at worst running that
one step twice: steps are idempotent by design.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from dbos import DBOSClient
from sqlalchemy.dialects import postgresql, sqlite

from chronobridge.workers._dbos_internals import reenqueue_if_owned
from chronobridge.workers._tables import db_epoch, heartbeats

log = logging.getLogger("chronobridge.workers")


@dataclass(frozen=True, kw_only=True)
class Liveness:
    heartbeat_interval_sec: float = 10.0
    dead_after_sec: float = 60.0
    sweep_interval_sec: float = 30.0


@dataclass(frozen=True)
class SweepResult:
    executors: tuple[str, ...]
    """Executors found dead (or named by the operator) whose work was swept."""
    recovered: tuple[str, ...]
    """Workflow ids put back on their queues."""


def beat(engine: sa.Engine, executor_id: str, *, app_version: str, starting: bool) -> None:
    """Insert or refresh this executor's row; `starting` also resets started_at and stopped."""
    now = db_epoch(engine.dialect.name)
    values = {
        "executor_id": executor_id,
        "hostname": socket.gethostname()[:255],
        "pid": os.getpid(),
        "app_version": app_version,
        "started_at": now,
        "beat_at": now,
        "stopped": False,
    }
    insert = (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(
        heartbeats
    ).values(values)
    keep = {"beat_at", "pid", "hostname", "app_version", "stopped"}
    if starting:
        keep.add("started_at")
    update = {name: insert.excluded[name] for name in keep}
    with engine.begin() as conn:
        conn.execute(insert.on_conflict_do_update(index_elements=["executor_id"], set_=update))


def mark_stopped(engine: sa.Engine, executor_id: str) -> None:
    """A stopped executor's leftover PENDING work can be swept at once, not after a timeout."""
    with engine.begin() as conn:
        conn.execute(
            sa.update(heartbeats)
            .where(heartbeats.c.executor_id == executor_id)
            .values(stopped=True, beat_at=db_epoch(engine.dialect.name))
        )


def _gone(engine: sa.Engine, dead_after_sec: float) -> sa.ColumnElement[bool]:
    limit = db_epoch(engine.dialect.name) - dead_after_sec
    return sa.or_(heartbeats.c.stopped.is_(True), heartbeats.c.beat_at < limit)


def dead_executors(engine: sa.Engine, *, dead_after_sec: float, exclude: str = "") -> list[str]:
    query = sa.select(heartbeats.c.executor_id).where(
        _gone(engine, dead_after_sec), heartbeats.c.executor_id != exclude
    )
    with engine.connect() as conn:
        return sorted(conn.execute(query).scalars())


def sweep(
    engine: sa.Engine,
    client: DBOSClient,
    *,
    dead_after_sec: float,
    exclude: str = "",
    executors: Sequence[str] = (),
) -> SweepResult:
    """Re-enqueue the PENDING workflows of dead executors (or of `executors`, if given)."""
    targets = list(executors) or dead_executors(
        engine, dead_after_sec=dead_after_sec, exclude=exclude
    )
    recovered: list[str] = []
    for executor_id in targets:
        recovered += _recover(client, executor_id)
        _forget(engine, executor_id, dead_after_sec=dead_after_sec, forced=bool(executors))
    if recovered:
        log.warning("Swept %d orphaned workflows of %d executors", len(recovered), len(targets))
    return SweepResult(tuple(targets), tuple(recovered))


def _recover(client: DBOSClient, executor_id: str) -> list[str]:
    pending = client.list_workflows(
        status="PENDING", executor_id=executor_id, load_input=False, load_output=False
    )
    return [
        status.workflow_id
        for status in pending
        if reenqueue_if_owned(client, status.workflow_id, executor_id)
    ]


def _forget(engine: sa.Engine, executor_id: str, *, dead_after_sec: float, forced: bool) -> None:
    """Drop the row, unless the executor came back meanwhile (a fresh beat keeps it)."""
    condition = heartbeats.c.executor_id == executor_id
    if not forced:
        condition = sa.and_(condition, _gone(engine, dead_after_sec))
    with engine.begin() as conn:
        conn.execute(sa.delete(heartbeats).where(condition))


class LivenessThread(threading.Thread):
    """Beats every heartbeat interval; sweeps every sweep interval."""

    def __init__(
        self,
        engine: sa.Engine,
        client: DBOSClient,
        *,
        executor_id: str,
        app_version: str,
        liveness: Liveness,
    ) -> None:
        super().__init__(name=f"chronobridge-liveness-{executor_id}", daemon=True)
        self._engine, self._client = engine, client
        self._executor_id, self._app_version = executor_id, app_version
        self._liveness = liveness
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)

    def run(self) -> None:
        settings = self._liveness
        next_sweep = time.monotonic() + settings.sweep_interval_sec / 2
        while not self._stop_event.wait(settings.heartbeat_interval_sec):
            self._guarded("heartbeat", self._beat)
            if time.monotonic() >= next_sweep:
                self._guarded("sweep", self._sweep)
                next_sweep = time.monotonic() + settings.sweep_interval_sec

    def _beat(self) -> None:
        beat(self._engine, self._executor_id, app_version=self._app_version, starting=False)

    def _sweep(self) -> None:
        sweep(
            self._engine,
            self._client,
            dead_after_sec=self._liveness.dead_after_sec,
            exclude=self._executor_id,
        )

    def _guarded(self, what: str, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as error:  # a failed beat must not end the thread; the next one retries
            log.warning("Worker %s failed (%s)", what, type(error).__name__)
