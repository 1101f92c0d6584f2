"""`chronobridge patients create | update | match`: patients written back to DrChrono, and
patients from other systems matched against the store.

    chronobridge patients create --json new-patient.json     # practice-model fields
    chronobridge patients update 86800012 --json - <<< '{"email": "a@example.test"}'
    chronobridge patients match --json from-the-lab.json

A create never makes a duplicate: an exact match is answered with the existing patient, a
possible one opens a review (`chronobridge matches`), and two creates of one person at once
make one patient. Exit codes: 0 done, 1 failed, 3 waiting for a review, 4 DrChrono rejected
fields, 5 conflict, 6 queued for a retry (see docs/writeback.md).
"""

from __future__ import annotations

from typing import Annotated

import typer

from chronobridge.cli._common import AppOpt
from chronobridge.cli._errors_out import run
from chronobridge.cli._writeback_hub import read_json, writeback_session
from chronobridge.domain.matching import MatchKind
from chronobridge.domain.writeback import ModelChange, WriteAction
from chronobridge.writeback import (
    InboundMatch,
    WritebackResult,
    match_inbound,
    model_values,
    submit,
)

__all__ = ["ConnectionOpt", "JsonOpt", "register", "report"]

JsonOpt = Annotated[
    str,
    typer.Option("--json", help="A JSON file of practice-model fields, or - for standard input."),
]
ConnectionOpt = Annotated[
    str | None,
    typer.Option(help="Act as this DrChrono user (username or id); default: the only "
                 "connection, or the first provider's.", show_default=False),
]  # fmt: skip


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Create, update and match patients.", no_args_is_help=True)
    group.command("create")(create)
    group.command("update")(update)
    group.command("match")(match)
    app.add_typer(group, name="patients")


def create(
    *,
    source: JsonOpt,
    force: Annotated[
        bool, typer.Option(help="Create even when a possible match exists (never an exact one).")
    ] = False,
    connection: ConnectionOpt = None,
    app: AppOpt = None,
) -> None:
    """Create a patient in DrChrono, unless it exists already."""
    raw = read_json(source)

    async def work() -> WritebackResult:
        async with writeback_session(app=app, connection=connection) as session:
            values = model_values(session.services.mapping, "patient", raw)
            change = ModelChange(model="patient", action=WriteAction.CREATE, values=values)
            return await submit(
                session.services,
                change,
                app_id=session.app_id,
                connection_id=session.connection_id,
                force=force,
                inline=True,
            )

    report(run(work))


def update(
    patient_id: Annotated[str, typer.Argument(help="The patient's DrChrono id.")],
    *,
    source: JsonOpt,
    connection: ConnectionOpt = None,
    app: AppOpt = None,
) -> None:
    """Change some of a patient's fields in DrChrono (only those fields are sent)."""
    raw = read_json(source)

    async def work() -> WritebackResult:
        async with writeback_session(app=app, connection=connection) as session:
            services = session.services
            changed = model_values(services.mapping, "patient", raw)
            change = ModelChange(
                model="patient",
                action=WriteAction.UPDATE,
                values=changed,
                external_id=patient_id,
                changed=frozenset(changed),
            )
            return await submit(services, change, app_id=session.app_id,
                                connection_id=session.connection_id, inline=True)  # fmt: skip

    report(run(work))


def match(*, source: JsonOpt, connection: ConnectionOpt = None, app: AppOpt = None) -> None:
    """Match a patient from another system against the store: exact, possible (a review is
    opened) or none. Nothing is created."""
    raw = read_json(source)

    async def work() -> InboundMatch:
        async with writeback_session(app=app, connection=connection) as session:
            return await match_inbound(session.services, session.app_id, raw)

    found = run(work)
    decision = found.decision
    rules = ", ".join(found.reasons)
    if decision.kind is MatchKind.EXACT:
        typer.echo(f"Exact match: patient {found.patient_id} (rules: {rules}).")
    elif decision.kind is MatchKind.NONE:
        typer.echo("No match: chronobridge patients create --json FILE creates the patient.")
    else:
        review = found.review.id if found.review else "?"
        ids = ", ".join(decision.patient_ids)
        typer.echo(f"Possible match with patient {ids} (rules: {rules}); nothing created. "
                   f"Review it: chronobridge matches show {review}", err=True)  # fmt: skip
        raise typer.Exit(3)


def report(result: WritebackResult) -> None:
    """One sentence: on standard output when done, else on standard error with its exit code."""
    line = f"{result.message} (write-back {result.writeback_id})"
    if result.ok:
        typer.echo(line)
        return
    typer.echo(f"Error: {line}", err=True)
    raise typer.Exit(result.exit_code)
