"""The CLI loads only the module of the command being run, so its name table must be right."""

from __future__ import annotations

import typer
import typer.main

from chronobridge.cli import COMMANDS, EVERY_MODULE, _command, build


def test_the_command_is_the_first_argument_after_the_root_options() -> None:
    assert _command(["--home", "/h", "--debug", "call", "GET", "/api/x"]) == "call"
    assert _command(["--database-url", "sqlite:///x", "connect", "--no-browser"]) == "connect"
    assert _command(["--help"]) is None
    assert _command([]) is None


def test_every_module_registers_exactly_the_names_the_table_gives_it() -> None:
    for module in EVERY_MODULE:
        group = typer.main.get_command(build((module,)))
        assert isinstance(group, typer.core.TyperGroup)
        names = set(group.list_commands(typer.Context(group)))
        assert names == {name for name, owner in COMMANDS.items() if owner == module}, module
