"""Heartbeats, stable executor ids, and the choice of whom to sweep."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from chronobridge.errors import ConfigError
from chronobridge.store import KeyRing
from chronobridge.workers import (
    Database,
    WorkerRuntime,
    dead_executors,
    resolve_executor_id,
)
from chronobridge.workers._identity import claim_host_slot
from chronobridge.workers._tables import heartbeats
from support.dbos_runtime import start_runtime, sync_engine, wait_for


def _row(engine: sa.Engine, executor_id: str) -> sa.Row[tuple[float, float, bool]] | None:
    query = sa.select(heartbeats.c.started_at, heartbeats.c.beat_at, heartbeats.c.stopped)
    with engine.connect() as conn:
        return conn.execute(query.where(heartbeats.c.executor_id == executor_id)).first()


def test_a_running_worker_beats_and_a_stopped_one_says_so(
    worker_database: Database, worker_cipher: KeyRing
) -> None:
    with start_runtime(worker_database, worker_cipher) as runtime:
        engine = runtime.engine
        first = _row(engine, "test-main")
        assert first is not None
        assert not first.stopped
        wait_for(lambda: _row(engine, "test-main").beat_at > first.beat_at)  # type: ignore[union-attr]
        assert dead_executors(engine, dead_after_sec=2.0) == []
    with sync_engine(worker_database) as engine:
        after = _row(engine, "test-main")
        assert after is not None
        assert after.stopped
        assert dead_executors(engine, dead_after_sec=3600) == ["test-main"]


def test_silent_executors_are_dead_and_others_are_not(dbos_runtime: WorkerRuntime) -> None:
    engine = dbos_runtime.engine
    with engine.begin() as conn:
        for name, age in [("ghost", 120.0), ("sleepy", 1.0)]:
            conn.execute(
                sa.insert(heartbeats).values(
                    executor_id=name,
                    hostname="h",
                    pid=1,
                    app_version="0",
                    started_at=0.0,
                    beat_at=_now(conn) - age,
                    stopped=False,
                )
            )
    assert dead_executors(engine, dead_after_sec=60) == ["ghost"]
    assert dead_executors(engine, dead_after_sec=60, exclude="ghost") == []
    result = dbos_runtime.sweep()  # nothing PENDING there: the ghost is forgotten
    assert result.executors == ("ghost",)
    assert result.recovered == ()
    assert _row(engine, "ghost") is None
    assert _row(engine, "sleepy") is not None


def _now(conn: sa.Connection) -> float:
    from chronobridge.workers._tables import db_epoch

    return float(conn.execute(sa.select(db_epoch(conn.dialect.name))).scalar_one())


@pytest.mark.parametrize("worker_db_kind", ["sqlite"])
def test_one_runtime_per_process(dbos_runtime: WorkerRuntime) -> None:
    other = WorkerRuntime(dbos_runtime.config)
    with pytest.raises(ConfigError, match="already running"):
        other.start()


def test_host_slots_are_unique_while_held_and_reused_after(tmp_path: Path) -> None:
    first, second = claim_host_slot(tmp_path), claim_host_slot(tmp_path)
    assert first.executor_id.endswith("-0")
    assert second.executor_id.endswith("-1")
    first.release()
    again = claim_host_slot(tmp_path)
    assert again.executor_id == first.executor_id
    again.release()
    second.release()


def test_explicit_executor_ids_win_and_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_executor_id("pod-7", home=tmp_path).executor_id == "pod-7"
    monkeypatch.setenv("CHRONOBRIDGE_EXECUTOR_ID", "machine-b")
    assert resolve_executor_id(None, home=tmp_path).executor_id == "machine-b"
    with pytest.raises(ConfigError):
        resolve_executor_id("has space", home=tmp_path)
