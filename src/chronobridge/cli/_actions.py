"""`chronobridge actions list`: every catalog operation, as automations and `call` see it."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from chronobridge.catalog import CATALOG
from chronobridge.cli._common import FormatOpt, OutputFormat, table

__all__ = ["register"]

FIELDS = ("name", "resource", "operation", "method", "path", "scopes", "input_schema")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The DrChrono operations the hub can call.", no_args_is_help=True)
    group.command("list")(list_actions)
    app.add_typer(group, name="actions")


def list_actions(
    *,
    output: FormatOpt = OutputFormat.TABLE,
    resource: Annotated[str | None, typer.Option(help="Only this resource's actions.")] = None,
) -> None:
    """List every operation: name, resource, method, path, scopes (and, as JSON, its input)."""
    actions = [a for a in CATALOG.actions() if resource in (None, a["resource"])]
    if output is OutputFormat.JSON:
        typer.echo(json.dumps([{k: a[k] for k in FIELDS} for a in actions], indent=2))
        return
    rows = [(a["name"], a["method"], a["path"], " ".join(a["scopes"])) for a in actions]
    typer.echo(table(("NAME", "METHOD", "PATH", "SCOPES"), rows))
