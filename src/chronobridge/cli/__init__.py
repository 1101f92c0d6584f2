"""The `chronobridge` command line."""

from __future__ import annotations

import typer

from chronobridge.cli import _emulator

app = typer.Typer(
    name="chronobridge",
    help="Integration hub for the DrChrono EHR, with a local DrChrono emulator.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
_emulator.register(app)


def main() -> None:
    app()
