"""`chronobridge appointments book | reschedule`: appointments written back to DrChrono.

    chronobridge appointments book --json visit.json
    chronobridge appointments reschedule 143400007 --start 2026-06-02T14:30:00-04:00 --duration 45

`book` takes practice-model fields (`patient_id`, `provider_id`, `location_id`, `exam_room`,
`start_time` and `end_time` with their UTC offset, `reason`, …). A time that overlaps another
appointment in the same exam room is refused by DrChrono (409): the command says so and exits
5, and nothing is retried. Fields DrChrono rejects (400) are named, exit 4.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from chronobridge.cli._common import AppOpt
from chronobridge.cli._errors_out import run
from chronobridge.cli._patients import ConnectionOpt, JsonOpt, report
from chronobridge.cli._writeback_hub import read_json, writeback_session
from chronobridge.domain.budget import Priority
from chronobridge.domain.writeback import ModelChange, WriteAction
from chronobridge.writeback import WritebackResult, model_values, reschedule_change, submit

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Book and reschedule appointments.", no_args_is_help=True)
    group.command("book")(book)
    group.command("reschedule")(reschedule)
    app.add_typer(group, name="appointments")


def book(*, source: JsonOpt, connection: ConnectionOpt = None, app: AppOpt = None) -> None:
    """Book an appointment in DrChrono."""
    raw = read_json(source)

    async def work() -> WritebackResult:
        async with writeback_session(app=app, connection=connection) as session:
            values = model_values(session.services.mapping, "appointment", raw)
            change = ModelChange(model="appointment", action=WriteAction.CREATE, values=values)
            return await submit(session.services, change, app_id=session.app_id,
                                connection_id=session.connection_id, inline=True)  # fmt: skip

    report(run(work))


def reschedule(
    appointment_id: Annotated[str, typer.Argument(help="The appointment's DrChrono id.")],
    *,
    start: Annotated[
        str, typer.Option(help="The new start, ISO 8601 with its UTC offset (…T14:30:00-04:00).")
    ],
    duration: Annotated[
        int | None, typer.Option(min=1, help="Minutes; default: the current duration.")
    ] = None,
    exam_room: Annotated[int | None, typer.Option(help="Move to this exam room too.")] = None,
    connection: ConnectionOpt = None,
    app: AppOpt = None,
) -> None:
    """Move an appointment to another time (and optionally another exam room)."""
    begins = _start(start)

    async def work() -> WritebackResult:
        async with writeback_session(app=app, connection=connection) as session:
            services = session.services
            async with services.clients(session.connection_id, Priority.INTERACTIVE) as client:
                context = await services.contexts(session.app_id, client)
                change = await reschedule_change(
                    client,
                    mapping=services.mapping,
                    context=context,
                    appointment_id=appointment_id,
                    start=begins,
                    duration_minutes=duration,
                    exam_room=exam_room,
                )
            return await submit(services, change, app_id=session.app_id,
                                connection_id=session.connection_id, inline=True)  # fmt: skip

    report(run(work))


def _start(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.utcoffset() is None:
        raise typer.BadParameter(
            "give an ISO 8601 time with its UTC offset, e.g. 2026-06-02T14:30:00-04:00",
            param_hint="--start",
        )
    return parsed
