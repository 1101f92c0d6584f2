"""`chronobridge budget`: each application's hourly API budget, shared by every worker."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from chronobridge.cli._common import table
from chronobridge.cli._errors_out import run
from chronobridge.domain.budget import Priority
from chronobridge.store import App, BudgetUsage
from chronobridge.wiring import Hub

__all__ = ["register"]


class BudgetFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    PROM = "prom"


def register(app: typer.Typer) -> None:
    app.command("budget")(budget)


def budget(
    *,
    output: Annotated[
        BudgetFormat, typer.Option("--format", help="table, json or prom (Prometheus text).")
    ] = BudgetFormat.TABLE,
) -> None:
    """Show the hourly API budget: limit, used, by priority, parked until, resets at."""

    async def work() -> tuple[list[tuple[App, BudgetUsage]], str]:
        async with Hub.open() as hub:
            report = await hub.budget()
            return report, hub.services.metrics.exposition()

    report, exposition = run(work)
    if output is BudgetFormat.PROM:
        typer.echo(exposition, nl=False)
    elif output is BudgetFormat.JSON:
        typer.echo(json.dumps([_json(app, usage) for app, usage in report], indent=2))
    elif not report:
        typer.echo("No application yet: nothing has a budget.")
    else:
        typer.echo(table(_HEADERS, [_row(app, usage) for app, usage in report]))


_HEADERS = ("APP", "LIMIT/H", "USED", *(p.value.upper() for p in Priority), "PARKED UNTIL",
            "RESETS AT")  # fmt: skip


def _row(app: App, usage: BudgetUsage) -> tuple[object, ...]:
    parked = usage.parked_until.strftime("%H:%M:%S") if usage.parked_until else None
    return (app.name, usage.limit, usage.used, *(usage.by_priority[p] for p in Priority), parked,
            usage.window_end.strftime("%H:%M:%S UTC"))  # fmt: skip


def _json(app: App, usage: BudgetUsage) -> dict[str, object]:
    return {
        "app": app.name,
        "client_id": app.client_id,
        "limit": usage.limit,
        "used": usage.used,
        "by_priority": {p.value: usage.by_priority[p] for p in Priority},
        "available": {p.value: usage.available(p) for p in Priority},
        "parked_until": usage.parked_until.isoformat() if usage.parked_until else None,
        "window_start": usage.window_start.isoformat(),
        "resets_at": usage.window_end.isoformat(),
    }
