"""Schedules: applied at every start without error, one run per tick."""

from __future__ import annotations

import pytest
from dbos import DBOS

from chronobridge.store import KeyRing
from chronobridge.workers import Database, Jobs, Schedule, every
from chronobridge.workers.diagnostics import tick
from support.dbos_runtime import probe_marks, start_runtime, sync_engine, wait_for


def test_every_makes_a_seconds_cron() -> None:
    assert every(15) == "*/15 * * * * *"
    with pytest.raises(ValueError, match="divide 60"):
        every(7)


def test_a_schedule_ticks_once_per_tick_and_survives_restarts(
    worker_database: Database, worker_cipher: KeyRing
) -> None:
    schedule = Schedule(name="probe-tick", workflow=tick, cron=every(1), context="t")
    for _ in range(2):  # the second start applies the same schedule again: no error
        with start_runtime(worker_database, worker_cipher, schedules=(schedule,)) as runtime:
            engine, seen = runtime.engine, len(probe_marks(runtime.engine))
            wait_for(lambda: len(probe_marks(engine)) >= seen + 2, timeout=15)  # noqa: B023
            assert [s["schedule_name"] for s in DBOS.list_schedules()] == ["probe-tick"]
    with sync_engine(worker_database) as engine:
        ticks = {key.removeprefix("tick:t:") for key in probe_marks(engine)}
    jobs = Jobs(worker_database, worker_cipher)
    try:
        runs = jobs.client.list_workflows(schedule_name="probe-tick", status="SUCCESS")
    finally:
        jobs.close()
    assert {run.workflow_id for run in runs} == {f"sched-probe-tick-{at}" for at in ticks}
    assert len(ticks) >= 4
