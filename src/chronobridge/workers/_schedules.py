"""Cron schedules, stored in the database and fired once per tick across the cluster.

Every worker's scheduler thread wakes at each tick, but a tick's workflow id is
`sched-<name>-<tick time>`, so only the first enqueue counts: one run per tick however many
workers there are. Applying the same schedules at every start is an upsert: no error, no
duplicate. A schedule dropped from the code stays in the database until `remove_schedule`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dbos import DBOS, ScheduleInput

ScheduledWorkflow = Callable[[datetime, Any], None]


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """`cron` has five fields, or six with seconds first ("*/15 * * * * *": every 15 s).

    The workflow is called as `workflow(scheduled_at, context)`; `context` is stored encrypted
    like any workflow input and must be JSON-like. `backfill` runs ticks missed while no worker
    was up. `queue` None uses DBOS's internal queue.
    """

    name: str
    workflow: ScheduledWorkflow
    cron: str
    context: Any = None
    queue: str | None = None
    backfill: bool = False
    timezone: str | None = None


def every(seconds: int) -> str:
    """A six-field cron expression for "every `seconds` seconds" (a divisor of 60)."""
    if seconds <= 0 or 60 % seconds:
        raise ValueError("every(): seconds must divide 60")
    return f"*/{seconds} * * * * *"


def apply_schedules(schedules: Sequence[Schedule]) -> None:
    """Create or update, in one transaction. DBOS must be launched (sync callers only)."""
    if schedules:
        DBOS.apply_schedules([_input(schedule) for schedule in schedules])


def remove_schedule(name: str) -> None:
    DBOS.delete_schedule(name)


def _input(schedule: Schedule) -> ScheduleInput:
    entry: ScheduleInput = {
        "schedule_name": schedule.name,
        "workflow_fn": schedule.workflow,
        "schedule": schedule.cron,
        "context": schedule.context,
        "automatic_backfill": schedule.backfill,
    }
    if schedule.queue is not None:
        entry["queue_name"] = schedule.queue
    if schedule.timezone is not None:
        entry["cron_timezone"] = schedule.timezone
    return entry
