"""Churn: the practice's staff at work, so that webhooks fire and a demo shows live activity.

Random but repeatable (the dice come from `config.seed`) changes made through the RecordStore as
a simulated staff member: new and edited patients, booked, rescheduled, cancelled and checked-in
appointments in free slots, tasks and task notes, allergies, medications, problems, patient
flags, vaccines, clinical notes locked and unlocked, and now and then a task, a cash payment or a
transaction deleted.

    --churn PER_MINUTE                  a steady background rate (deletions included)
    POST /_emulator/churn {"changes": N} exactly N changes now, answered with what changed
                                        ({"deletions": true} to include deletions)
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from chronobridge.emulator import _churn_makers as makers
from chronobridge.emulator._churn_makers import Done, Maker, Workbench
from chronobridge.emulator._control_input import (
    ControlError,
    as_object,
    boolean,
    integer,
    number,
    read_json,
)
from chronobridge.emulator._state import EmulatorState

MAX_PER_CALL = 1000
MAX_PER_MINUTE = 6000.0

# (weight, maker): how often a busy front desk does each thing.
ACTIONS: tuple[tuple[int, Maker], ...] = (
    (3, makers.new_patient),
    (4, makers.edit_patient),
    (4, makers.book_appointment),
    (2, makers.reschedule_appointment),
    (1, makers.cancel_appointment),
    (3, makers.check_in_appointment),
    (2, makers.new_task),
    (2, makers.edit_task),
    (1, makers.new_task_note),
    (1, makers.new_allergy),
    (1, makers.edit_allergy),
    (1, makers.new_medication),
    (1, makers.edit_medication),
    (1, makers.new_problem),
    (1, makers.edit_problem),
    (1, makers.flag_patient),
    (1, makers.vaccinate),
    (2, makers.toggle_note_lock),
)
# Rare, as in a real practice; the REST API cannot make these three deletions at all. The steady
# background churn makes them; a call makes them only when asked, so that a test's N changes
# for a seed stay the same sequence of creates and edits they always were.
DELETIONS: tuple[tuple[int, Maker], ...] = (
    (1, makers.delete_task),
    (1, makers.delete_payment),
    (1, makers.delete_transaction),
)


class Churner:
    """`state.extensions["churn"]`: makes changes on demand and at a steady rate."""

    def __init__(self, state: EmulatorState) -> None:
        self.bench = Workbench(state=state, rng=random.Random(state.config.seed * 7919 + 17))
        self.per_minute = max(0.0, state.config.churn)
        self.total = 0

    def run(self, count: int, *, deletions: bool = False) -> list[Done]:
        actions = ACTIONS + DELETIONS if deletions else ACTIONS
        done: list[Done] = []
        for _ in range(count):
            change = self._one(actions)
            if change is not None:
                done.append(change)
        self.total += len(done)
        return done

    def _one(self, actions: tuple[tuple[int, Maker], ...]) -> Done | None:
        weights = [weight for weight, _ in actions]
        for _ in range(20):  # a maker may find nothing to do (no tasks yet, no free slot)
            maker = self.bench.rng.choices(actions, weights=weights)[0][1]
            change = maker(self.bench)
            if change is not None:
                return change
        return makers.new_patient(self.bench)

    def json(self) -> dict[str, Any]:
        return {"per_minute": self.per_minute, "total": self.total}


def churner(state: EmulatorState) -> Churner:
    found = state.extensions.get("churn")
    if not isinstance(found, Churner):
        found = state.extensions["churn"] = Churner(state)
    return found


def install(state: EmulatorState) -> None:
    churner(state)


def routes(state: EmulatorState) -> list[BaseRoute]:
    found = churner(state)

    async def status(request: Request) -> Response:
        return JSONResponse(found.json())

    async def churn(request: Request) -> Response:
        try:
            body = as_object(await read_json(request))
            count = integer(body, "changes", 0, low=0, high=MAX_PER_CALL)
            deletions = boolean(body, "deletions", default=False)
            if body.get("per_minute") is not None:
                found.per_minute = number(body, "per_minute", 0.0, low=0.0, high=MAX_PER_MINUTE)
        except ControlError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=400)
        done = found.run(count, deletions=deletions)
        return JSONResponse({**found.json(), "changes": [d.json() for d in done]})

    return [
        Route("/_emulator/churn", status, methods=["GET"]),
        Route("/_emulator/churn", churn, methods=["POST"]),
    ]


def background(state: EmulatorState) -> list[Callable[[], Coroutine[Any, Any, None]]]:
    found = churner(state)

    async def steady() -> None:
        while True:
            if found.per_minute <= 0:
                await asyncio.sleep(1.0)
                continue
            await asyncio.sleep(60.0 / found.per_minute)
            found.run(1, deletions=True)

    return [steady]
