"""`chronobridge keys rotate`: re-encrypt every stored secret under a new key."""

from __future__ import annotations

from typing import Annotated

import typer

from chronobridge.cli._errors_out import run
from chronobridge.store import RotationReport
from chronobridge.wiring import Hub

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The encryption keys of stored secrets.", no_args_is_help=True)
    group.command("rotate")(rotate)
    app.add_typer(group, name="keys")


def rotate(
    *,
    keep_old: Annotated[
        bool,
        typer.Option(
            "--keep-old",
            help="Keep the old keys in the key file (other processes "
            "still running with them can then read the new values after a restart).",
        ),
    ] = False,
) -> None:
    """New key in front, every secret re-encrypted, old keys retired (docs/store.md).

    With CHRONOBRIDGE_ENCRYPTION_KEYS, put the new key first in the variable yourself; this
    re-encrypts under it, and you then drop the old keys from the variable.
    """

    async def work() -> tuple[RotationReport, bool]:
        async with Hub.open() as hub:
            from_env = hub.settings.encryption_keys is not None
            return await hub.rotate_keys(retire=not keep_old), from_env

    report, from_env = run(work)
    typer.echo(f"Re-encrypted {report.total} stored secret(s) under the newest key.")
    if from_env:
        typer.echo("Now remove the old keys from CHRONOBRIDGE_ENCRYPTION_KEYS.")
    elif keep_old:
        typer.echo("The old keys stay in the key file until you run keys rotate again.")
    else:
        typer.echo("The old keys were removed from the key file; restart running workers.")
