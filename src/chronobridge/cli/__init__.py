"""The `chronobridge` command line.

Each command module has a `register(app)`; `COMMANDS` maps every top-level command name to its
module. `main()` imports only the module of the command being run: importing all of them pulls
in every layer, the emulator and DBOS, over a second on every call. `--help`, no command at all,
or a name missing from the table loads every module, so a command added without an entry here
still works (only slower to start).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import typer

from chronobridge.cli import _common

__all__ = ["COMMANDS", "build", "main"]

COMMANDS: dict[str, str] = {
    "emulator": "_emulator",
    "demo": "_demo",
    "worker": "_worker",
    "apps": "_apps",
    "connect": "_connect",
    "connections": "_connections",
    "call": "_call",
    "budget": "_budget",
    "actions": "_actions",
    "keys": "_keys",
    "config": "_config",
    "patients": "_patients",
    "appointments": "_appointments",
    "matches": "_matches",
    "sync": "_sync",
    "store": "_store",
    "errors": "_errors",
    "serve": "_serve",
    "webhooks": "_webhooks",
}
EVERY_MODULE: tuple[str, ...] = tuple(dict.fromkeys(COMMANDS.values()))
_VALUED_OPTIONS = ("--home", "--database-url")  # the root options that take a value


def build(modules: Sequence[str] = EVERY_MODULE) -> typer.Typer:
    """The CLI with the commands of `modules` (all of them by default)."""
    app = typer.Typer(
        name="chronobridge",
        help="Integration hub for the DrChrono EHR, with a local DrChrono emulator.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    app.callback()(_common.root)
    for name in modules:
        importlib.import_module(f"chronobridge.cli.{name}").register(app)
    return app


def main() -> None:
    command = _command(sys.argv[1:])
    build((COMMANDS[command],) if command in COMMANDS else EVERY_MODULE)()


def _command(argv: Sequence[str]) -> str | None:
    """The command name: the first argument that is neither a root option nor its value."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _VALUED_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def __getattr__(name: str) -> typer.Typer:
    """`chronobridge.cli.app`: the whole CLI, built on first use."""
    if name == "app":
        return build()
    raise AttributeError(name)
