"""`chronobridge call METHOD PATH`: any DrChrono operation of the catalog, as JSON.

    chronobridge call GET /api/patients --param last_name=Doe
    chronobridge call GET /api/patients --all            # every page, one JSON array, streamed
    chronobridge call POST /api/tasks --json @task.json
    chronobridge call GET /api/users/current --connection staff1

Calls are interactive: they may use the whole hourly budget, and a spent budget is an error at
once with the time it resumes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from chronobridge.cli._common import AppOpt
from chronobridge.cli._errors_out import run
from chronobridge.connections import (
    call_all,
    call_once,
    explain_denied,
    parse_body,
    parse_pairs,
    resolve,
)
from chronobridge.errors import PermissionDenied
from chronobridge.wiring import Hub

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command("call")(call)


def call(
    method: Annotated[str, typer.Argument(help="GET, POST, PUT, PATCH or DELETE.")],
    path: Annotated[str, typer.Argument(help="The path, e.g. /api/patients/12.")],
    *,
    param: Annotated[
        list[str] | None, typer.Option(help="Query parameter NAME=VALUE (repeatable).")
    ] = None,
    body: Annotated[
        str | None,
        typer.Option("--json", help="JSON body, or @file holding it.", show_default=False),
    ] = None,
    form: Annotated[
        list[str] | None, typer.Option(help="Multipart form field NAME=VALUE (repeatable).")
    ] = None,
    file: Annotated[
        list[str] | None, typer.Option(help="Multipart file NAME=PATH (repeatable).")
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Follow a list's next links; print one JSON array.")
    ] = False,
    connection: Annotated[
        str | None,
        typer.Option(
            help="Act as this DrChrono user (username or id); default: the only "
            "connection, or the first provider's.",
            show_default=False,
        ),
    ] = None,
    app: AppOpt = None,
) -> None:
    """Call one DrChrono API operation and print the answer as JSON."""

    async def work() -> None:
        target = resolve(method, path)
        params = parse_pairs(param or [], option="--param")
        fields = parse_pairs(form or [], option="--form")
        uploads = {k: Path(v) for k, v in parse_pairs(file or [], option="--file").items()}
        payload = parse_body(body)
        async with Hub.open() as hub:
            chosen = await hub.connection(connection, app=app)
            try:
                async with await hub.client(chosen) as client:
                    if every:
                        await _stream(call_all(client, target, params=params))
                        return
                    answer = await call_once(client, target, params=params, body=payload,
                                             form=fields, files=uploads)  # fmt: skip
            except PermissionDenied as denied:  # name the missing scope, and how to get it
                raise await explain_denied(hub.services, chosen, denied) from None
        _print(answer)

    run(work)


async def _stream(records: Any) -> None:
    """One JSON array, written record by record as the pages arrive."""
    out = sys.stdout
    first = True
    async for record in records:
        out.write("[\n  " if first else ",\n  ")
        out.write(json.dumps(record, ensure_ascii=False))
        first = False
    out.write("[]\n" if first else "\n]\n")
    out.flush()


def _print(answer: Any) -> None:
    if isinstance(answer, str):
        typer.echo(answer)  # XML (ccda) comes back as text
        return
    typer.echo(json.dumps(answer, indent=2, ensure_ascii=False))
