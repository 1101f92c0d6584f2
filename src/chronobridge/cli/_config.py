"""`chronobridge config show`: the settings in effect, secrets redacted."""

from __future__ import annotations

import json
import os

import typer

from chronobridge.cli._common import FormatOpt, OutputFormat, table
from chronobridge.cli._errors_out import run
from chronobridge.wiring import CLOCK_OFFSET_ENV, load_settings

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The hub's settings.", no_args_is_help=True)
    group.command("show")(show)
    app.add_typer(group, name="config")


def show(*, output: FormatOpt = OutputFormat.TABLE) -> None:
    """Print every setting (from flags and CHRONOBRIDGE_* variables); secrets show only if set."""

    async def work() -> dict[str, str]:
        values = load_settings().redacted()
        if os.environ.get(CLOCK_OFFSET_ENV):
            values["clock_offset"] = f"{os.environ[CLOCK_OFFSET_ENV]} s (tests and demos only)"
        return values

    values = run(work)
    if output is OutputFormat.JSON:
        typer.echo(json.dumps(values, indent=2))
        return
    typer.echo(table(("SETTING", "VALUE"), sorted(values.items())))
