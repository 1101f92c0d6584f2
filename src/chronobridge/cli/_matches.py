"""`chronobridge matches list | show | confirm | dismiss`: the possible-match review queue.

    chronobridge matches list                       # open reviews: ids, rules, DrChrono ids
    chronobridge matches show 7 --reason "front desk call"   # the values: audited
    chronobridge matches confirm 7 [--patient 86800012] [--merged]
    chronobridge matches dismiss 7 [--create]       # different people; --create makes the new one

`show` prints patient data, so it writes an audit row (who, which review, why) before it does.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from chronobridge.cli._common import AppOpt, FormatOpt, OutputFormat, table
from chronobridge.cli._errors_out import run
from chronobridge.cli._patients import ConnectionOpt, report
from chronobridge.cli._writeback_hub import actor, writeback_session
from chronobridge.store import Review, ReviewKind, ReviewStatus
from chronobridge.writeback import ReviewDetails, ReviewQueue, WritebackResult

__all__ = ["register"]

IdArg = Annotated[int, typer.Argument(help="The review's number (chronobridge matches list).")]
NoteOpt = Annotated[str | None, typer.Option(help="Why (kept encrypted).", show_default=False)]


class StatusChoice(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    MERGED = "merged"
    ALL = "all"


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Review possible patient matches.", no_args_is_help=True)
    group.command("list")(list_reviews)
    group.command("show")(show)
    group.command("confirm")(confirm)
    group.command("dismiss")(dismiss)
    app.add_typer(group, name="matches")


def list_reviews(
    *,
    status: Annotated[StatusChoice, typer.Option(help="Which reviews.")] = StatusChoice.OPEN,
    output: FormatOpt = OutputFormat.TABLE,
    app: AppOpt = None,
) -> None:
    """The reviews (no patient data: ids, rules and DrChrono patient ids)."""

    async def work() -> list[Review]:
        async with writeback_session(app=app, connection=None) as session:
            wanted = None if status is StatusChoice.ALL else ReviewStatus(status.value)
            return await ReviewQueue(session.services).list(app_id=session.app_id, status=wanted)

    reviews = run(work)
    if output is OutputFormat.JSON:
        typer.echo(json.dumps([_summary(r) for r in reviews], indent=2))
        return
    if not reviews:
        typer.echo("No reviews.")
        return
    headers = ("ID", "KIND", "STATUS", "STRENGTH", "PATIENT", "MATCHES", "RULES", "OPENED")
    rows = [
        (r.id, r.kind.value, r.status.value, r.strength, r.candidate_id or "(new)",
         ", ".join(r.matched_ids), ", ".join(r.rules), r.created_at.strftime("%Y-%m-%d %H:%M"))
        for r in reviews
    ]  # fmt: skip
    typer.echo(table(headers, rows))


def show(
    review_id: IdArg,
    *,
    reason: Annotated[
        str | None, typer.Option(help="Why you look (written to the audit log).")
    ] = None,
    app: AppOpt = None,
) -> None:
    """One review with the incoming patient's values (patient data: the read is audited)."""

    async def work() -> ReviewDetails:
        async with writeback_session(app=app, connection=None) as session:
            return await ReviewQueue(session.services).show(review_id, actor=actor(), reason=reason)

    details = run(work)
    body = {**_summary(details.review), "values": details.values, "note": details.note}
    typer.echo(json.dumps(body, indent=2, default=str))


def confirm(
    review_id: IdArg,
    *,
    patient: Annotated[
        str | None, typer.Option(help="The matching patient, when there are several.")
    ] = None,
    merged: Annotated[bool, typer.Option(help="The duplicates were merged in DrChrono.")] = False,
    note: NoteOpt = None,
    app: AppOpt = None,
) -> None:
    """The same person: an incoming patient becomes the existing one."""

    async def work() -> tuple[Review, WritebackResult | None]:
        async with writeback_session(app=app, connection=None) as session:
            queue = ReviewQueue(session.services)
            return await queue.confirm(
                review_id, actor=actor(), note=note, patient_id=patient, merged=merged
            )

    review, settled = run(work)
    typer.echo(f"Review {review.id} is {review.status.value}.")
    if settled is not None:
        report(settled)


def dismiss(
    review_id: IdArg,
    *,
    create: Annotated[
        bool, typer.Option(help="Create the incoming patient now (different people).")
    ] = False,
    note: NoteOpt = None,
    connection: ConnectionOpt = None,
    app: AppOpt = None,
) -> None:
    """Different people; with --create, the incoming patient is created in DrChrono."""

    async def work() -> tuple[Review, WritebackResult | None]:
        async with writeback_session(app=app, connection=connection) as session:
            return await ReviewQueue(session.services).dismiss(
                review_id,
                actor=actor(),
                note=note,
                create=create,
                connection_id=session.connection_id,
            )

    review, created = run(work)
    typer.echo(f"Review {review.id} is {review.status.value}.")
    if created is not None:
        report(created)


def _summary(review: Review) -> dict[str, object]:
    return {
        "id": review.id,
        "kind": review.kind.value,
        "status": review.status.value,
        "strength": review.strength,
        "patient": review.candidate_id,
        "matches": list(review.matched_ids),
        "rules": list(review.rules),
        "writeback": review.writeback_id,
        "opened": review.created_at.isoformat(),
        "inbound": review.kind is ReviewKind.INBOUND,
    }
