"""What every command shares: the root options (--home, --database-url, --debug), opening the
hub, and plain text tables (no terminal-width guessing, so output is the same in a pipe)."""

from __future__ import annotations

import getpass
import logging
import os
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from chronobridge.cli._errors_out import DEBUG_ENV
from chronobridge.client import guard_library_logs

__all__ = ["AppOpt", "FormatOpt", "OutputFormat", "actor", "root", "table"]


# --debug: our own records, and each request's method and path (httpx2 logs the path only: the
# client's log filter cuts the query). Database drivers stay quiet: they log bound parameters.
DEBUG_LOGGERS = {"chronobridge": logging.DEBUG, "httpx2": logging.INFO}


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


AppOpt = Annotated[
    str | None,
    typer.Option("--app", help="The application (name or client id); default: the only one, "
                 "or the one from CHRONOBRIDGE_CLIENT_ID."),
]  # fmt: skip
FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table or json.")]


def root(
    *,
    home: Annotated[
        Path | None,
        typer.Option(
            help="Data folder (SQLite file, key file); default CHRONOBRIDGE_HOME "
            "or ~/.chronobridge.",
            show_default=False,
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Database URL instead of the SQLite file (CHRONOBRIDGE_DATABASE_URL).",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
) -> None:
    """Integration hub for the DrChrono EHR, with a local DrChrono emulator."""
    guard_library_logs()  # from the first record on: no query string (state, names) in any log
    # Flags become the environment the settings are read from, for every command alike.
    if home is not None:
        os.environ["CHRONOBRIDGE_HOME"] = str(home)
    if database_url is not None:
        os.environ["CHRONOBRIDGE_DATABASE_URL"] = database_url
    if debug:
        os.environ[DEBUG_ENV] = "1"
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
        for name, level in DEBUG_LOGGERS.items():
            logging.getLogger(name).setLevel(level)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers], *[["-" if v is None else str(v) for v in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]  # fmt: skip
    return "\n".join(lines)


def actor() -> str:
    """Who is acting, for the audit log: the operating-system user of the CLI."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"
