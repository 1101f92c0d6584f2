"""`chronobridge errors list | retry | ignore`: the mapping error queue.

A record that did not fit the mapping is stored raw and listed here with the model, field and
rule that failed (never the value). Fix the mapping file, then `errors retry --mapping FILE`
maps the stored records again: nothing is fetched, nothing was lost.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from chronobridge.cli._common import AppOpt, FormatOpt, OutputFormat, table
from chronobridge.cli._errors_out import run
from chronobridge.cli._sync_common import MappingOpt, sync_session
from chronobridge.store import ErrorStatus, SyncError, SyncErrors
from chronobridge.sync import RetryReport
from chronobridge.wiring import Hub

__all__ = ["register"]

ResourceOpt = Annotated[str | None, typer.Option(help="Only this resource.")]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Records that did not fit the mapping.", no_args_is_help=True)
    group.command("list")(list_errors)
    group.command("retry")(retry)
    group.command("ignore")(ignore)
    app.add_typer(group, name="errors")


def list_errors(
    *,
    app: AppOpt = None,
    resource: ResourceOpt = None,
    status: Annotated[str, typer.Option(help="open, resolved, ignored or all.")] = "open",
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    output: FormatOpt = OutputFormat.TABLE,
) -> None:
    """The error queue: which record, model, field and rule, how often, since when."""
    wanted = None if status == "all" else ErrorStatus(status)

    async def work() -> list[SyncError]:
        async with Hub.open() as hub:
            app_id = (await hub.app(app)).id
            return await SyncErrors(hub.db).list(
                app_id=app_id, status=wanted, resource=resource, limit=limit
            )

    errors = run(work)
    if output is OutputFormat.JSON:
        typer.echo(json.dumps([_json(e) for e in errors], indent=2))
        return
    if not errors:
        typer.echo("No mapping errors.")
        return
    headers = ("ERROR", "RESOURCE", "ID", "MODEL", "FIELD", "RULE", "TRIES", "MAPPING", "STATUS",
               "LAST SEEN (UTC)")  # fmt: skip
    rows = [
        (e.id, e.resource, e.external_id, e.model, e.field, e.rule, e.attempts,
         f"v{e.mapping_version}", e.status.value, e.last_seen_at.isoformat(timespec="seconds"))
        for e in errors
    ]  # fmt: skip
    typer.echo(table(headers, rows))


def retry(*, app: AppOpt = None, resource: ResourceOpt = None, mapping: MappingOpt = None) -> None:
    """Map the stored records of open errors again (after fixing the mapping)."""

    async def work() -> RetryReport:
        async with sync_session(app, mapping) as session:
            return await session.engine.retry_errors(app_id=session.app.id, resource=resource)

    report = run(work)
    typer.echo(
        f"retried {report.attempted} records: {report.resolved} mapped now, "
        f"{report.still_failing} still failing"
    )
    if report.still_failing:
        raise typer.Exit(1)


def ignore(
    error_ids: Annotated[list[int], typer.Argument(metavar="ERROR...", help="Error numbers.")],
) -> None:
    """Stop listing these errors as open (their records stay stored raw)."""

    async def work() -> int:
        async with Hub.open() as hub:
            return await SyncErrors(hub.db).set_status(
                error_ids, ErrorStatus.IGNORED, now=datetime.now(UTC)
            )

    typer.echo(f"ignored {run(work)} errors")


def _json(error: SyncError) -> dict[str, object]:
    return {
        "id": error.id,
        "resource": error.resource,
        "external_id": error.external_id,
        "model": error.model,
        "field": error.field,
        "rule": error.rule,
        "reason": error.reason,
        "error_class": error.error_class,
        "mapping_version": error.mapping_version,
        "attempts": error.attempts,
        "status": error.status.value,
        "first_seen_at": error.first_seen_at.isoformat(),
        "last_seen_at": error.last_seen_at.isoformat(),
    }
