"""`chronobridge webhooks reconcile [RESOURCE...]`: after an outage, poll what webhooks missed
and report, per resource, how many changes arrived only through this pass."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from chronobridge.cli._common import AppOpt, FormatOpt, OutputFormat, table
from chronobridge.cli._errors_out import run
from chronobridge.cli._sync_common import MappingOpt, sync_session
from chronobridge.ingress import ReconcileResult, reconcile, webhook_resources
from chronobridge.sync import RunStatus

__all__ = ["reconcile_command"]


def reconcile_command(
    resources: Annotated[
        list[str] | None,
        typer.Argument(
            help=f"Resources (default: all with webhook events: {', '.join(webhook_resources())}).",
            show_default=False,
        ),
    ] = None,
    *,
    app: AppOpt = None,
    incremental: Annotated[
        bool,
        typer.Option(
            "--incremental",
            help="Only poll from each bookmark (cheap); the default full pass also finds "
            "deletions.",
        ),
    ] = False,
    mapping: MappingOpt = None,
    output: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Poll the webhook-covered resources and apply what the webhooks missed."""

    async def work() -> list[ReconcileResult]:
        async with sync_session(app, mapping) as session:
            return await reconcile(
                session.engine, session.app.id, resources, deletions=not incremental
            )

    results = run(work)
    if output is OutputFormat.JSON:
        typer.echo(json.dumps([_json(result) for result in results], indent=2))
    else:
        typer.echo(_table(results))
    if any(r.status not in (RunStatus.DONE, RunStatus.BUSY) for r in results):
        raise typer.Exit(1)


def _table(results: list[ReconcileResult]) -> str:
    headers = ("RESOURCE", "STATUS", "RECORDS", "CHANGED", "DELETED", "ONLY VIA RECONCILE")
    rows = [
        (r.resource, r.status.value, r.report.records, r.report.created + r.report.updated,
         r.deleted, r.only_here)
        for r in results
    ]  # fmt: skip
    total = sum(r.only_here for r in results)
    return f"{table(headers, rows)}\n\n{total} changes arrived only through reconciliation."


def _json(result: ReconcileResult) -> dict[str, object]:
    return {**result.report.counts(), "only_via_reconcile": result.only_here}
