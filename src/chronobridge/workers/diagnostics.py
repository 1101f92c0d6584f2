"""Built-in diagnostic workflows: a probe to check that workers run jobs, and a tick.

`probe(key, sleep_sec, fail_attempts)` runs two steps: the first records an attempt row (one
per execution, so a step re-run after a crash shows as a second attempt), sleeps `sleep_sec` on
its first attempt only, and fails on purpose while attempts <= `fail_attempts`; the second
records the probe's mark (once per key, whatever happens). The tests use
it to prove recovery, sharing of work, retries and the error queue on real processes; an
operator can enqueue one to check a deployment end to end.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from chronobridge.errors import Fatal, HubError
from chronobridge.workers._define import step, workflow
from chronobridge.workers._runtime import current_runtime
from chronobridge.workers._tables import db_epoch, probe_attempts, probe_marks

PROBE = "chronobridge.diagnostics.probe"
TICK = "chronobridge.diagnostics.tick"


class ProbeFailed(HubError, Fatal):
    """The diagnostic probe failed on purpose."""

    hint = "This failure was requested (fail_attempts); retry the job to see it succeed."


@workflow(PROBE)
async def probe(key: str, sleep_sec: float = 0.0, fail_attempts: int = 0) -> int:
    """Returns the number of attempts its first step took."""
    attempts = await _attempt(key, sleep_sec, fail_attempts)
    await _mark(key)
    return attempts


@workflow(TICK)
def tick(scheduled_at: datetime, context: Any) -> None:
    """A scheduled workflow: marks `tick:<context>:<scheduled time>` once per tick."""
    _insert_mark(f"tick:{context}:{scheduled_at.isoformat()}")


@step(attempts=1)
async def _attempt(key: str, sleep_sec: float, fail_attempts: int) -> int:
    count = await asyncio.to_thread(_insert_attempt, key)
    if sleep_sec > 0 and count == 1:  # only the first attempt: a re-run after a crash is quick
        await asyncio.sleep(sleep_sec)
    if count <= fail_attempts:
        raise ProbeFailed(f"The probe failed on purpose (attempt {count}).")
    return count


@step()
async def _mark(key: str) -> None:
    await asyncio.to_thread(_insert_mark, key)


def _insert_attempt(key: str) -> int:
    runtime = current_runtime()
    with runtime.engine.begin() as conn:
        conn.execute(
            sa.insert(probe_attempts).values(
                probe_key=key,
                executor_id=runtime.executor_id,
                at=db_epoch(conn.dialect.name),
            )
        )
        query = sa.select(sa.func.count()).where(probe_attempts.c.probe_key == key)
        return int(conn.execute(query).scalar_one())


def _insert_mark(key: str) -> None:
    """Idempotent: a step re-run after its commit finds the mark already there."""
    runtime = current_runtime()
    dialect = runtime.engine.dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(probe_marks)
    with runtime.engine.begin() as conn:
        conn.execute(
            insert.values(
                probe_key=key, executor_id=runtime.executor_id, at=db_epoch(dialect)
            ).on_conflict_do_nothing(index_elements=["probe_key"])
        )
