"""`chronobridge apps add | list`: the DrChrono API applications the hub uses.

Secrets (client secret, webhook secret) are asked for with a hidden prompt when not given and
are never printed back.
"""

from __future__ import annotations

import json
import re
from typing import Annotated

import typer

from chronobridge.catalog import SCOPES
from chronobridge.cli._common import FormatOpt, OutputFormat, table
from chronobridge.cli._errors_out import run
from chronobridge.errors import ConfigError
from chronobridge.store import App, AppSpec
from chronobridge.wiring import Hub, load_settings

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Register and list DrChrono API applications.", no_args_is_help=True)
    group.command("add")(add)
    group.command("list")(list_apps)
    app.add_typer(group, name="apps")


def add(
    *,
    name: Annotated[str, typer.Option(help="A name for the application in the hub.")],
    client_id: Annotated[str, typer.Option(help="Client id from DrChrono's API page.")],
    client_secret: Annotated[
        str | None,
        typer.Option(help="Client secret (asked for, hidden, when left out).", show_default=False),
    ] = None,
    redirect_uri: Annotated[
        list[str] | None,
        typer.Option(
            help="Registered redirect URI (repeatable); default CHRONOBRIDGE_REDIRECT_URI.",
            show_default=False,
        ),
    ] = None,
    scopes: Annotated[
        str | None, typer.Option(help="Scopes to ask for (spaces or commas); default all 22.")
    ] = None,
    webhook_secret: Annotated[
        str | None, typer.Option(help="The webhook's secret token.", show_default=False)
    ] = None,
    api_version: Annotated[str, typer.Option(help="DrChrono API version header.")] = "v4",
    drchrono_url: Annotated[
        str | None,
        typer.Option(
            help="DrChrono's base URL (or an emulator's); default CHRONOBRIDGE_DRCHRONO_URL.",
            show_default=False,
        ),
    ] = None,
    patient_iframe_url: Annotated[
        str | None, typer.Option(help="Patient chart iframe URL.")
    ] = None,
    clinical_note_iframe_url: Annotated[
        str | None, typer.Option(help="Clinical note iframe URL.")
    ] = None,
    iframe_height: Annotated[int | None, typer.Option(help="iframe height in pixels.")] = None,
    rate_limit: Annotated[int, typer.Option(min=1, help="Calls per hour DrChrono allows.")] = 500,
) -> None:
    """Register a DrChrono API application (its secrets are stored encrypted)."""
    secret = client_secret or typer.prompt("Client secret", hide_input=True)
    chosen_scopes = _scopes(scopes)

    async def work() -> App:
        settings = load_settings()
        spec = AppSpec(
            name=name,
            client_id=client_id,
            client_secret=secret,
            redirect_uris=tuple(redirect_uri or (settings.redirect_uri,)),
            api_version=api_version,
            scopes=chosen_scopes,
            webhook_secret=webhook_secret,
            patient_iframe_url=patient_iframe_url,
            patient_iframe_height=iframe_height if patient_iframe_url else None,
            clinical_note_iframe_url=clinical_note_iframe_url,
            clinical_note_iframe_height=iframe_height if clinical_note_iframe_url else None,
            drchrono_url=(drchrono_url or settings.drchrono_url).rstrip("/"),
            rate_limit=rate_limit,
        )
        async with Hub.open(settings) as hub:
            return await hub.add_app(spec)

    created = run(work)
    typer.echo(f"Registered application {created.name} (client id {created.client_id}).")


def list_apps(*, output: FormatOpt = OutputFormat.TABLE) -> None:
    """List the registered applications (never their secrets)."""

    async def work() -> list[App]:
        async with Hub.open() as hub:
            return await hub.apps()

    apps = run(work)
    if output is OutputFormat.JSON:
        typer.echo(json.dumps([_json(a) for a in apps], indent=2))
        return
    if not apps:
        typer.echo("No application yet: set CHRONOBRIDGE_CLIENT_ID and _CLIENT_SECRET, "
                   "or run chronobridge apps add.")  # fmt: skip
        return
    headers = ("NAME", "CLIENT ID", "DRCHRONO", "REDIRECT URIS", "SCOPES", "LIMIT/H", "WEBHOOK")
    rows = [
        (a.name, a.client_id, a.drchrono_url, " ".join(a.redirect_uris), len(a.scopes),
         a.rate_limit, "set" if a.webhook_secret else "-")
        for a in apps
    ]  # fmt: skip
    typer.echo(table(headers, rows))


def _json(app: App) -> dict[str, object]:
    return {
        "name": app.name,
        "client_id": app.client_id,
        "drchrono_url": app.drchrono_url,
        "redirect_uris": list(app.redirect_uris),
        "api_version": app.api_version,
        "scopes": list(app.scopes),
        "rate_limit": app.rate_limit,
        "webhook_secret": "set" if app.webhook_secret else None,
        "patient_iframe_url": app.patient_iframe_url,
        "clinical_note_iframe_url": app.clinical_note_iframe_url,
        "created_at": app.created_at.isoformat(timespec="seconds"),
    }


def _scopes(text: str | None) -> tuple[str, ...]:
    if text is None:
        return SCOPES
    chosen = tuple(part for part in re.split(r"[\s,]+", text) if part)
    unknown = sorted(set(chosen) - set(SCOPES))
    if unknown or not chosen:
        problem = f"Unknown DrChrono scope(s): {', '.join(unknown)}" if unknown else "No scope"
        raise typer.BadParameter(str(ConfigError(problem)), param_hint="--scopes")
    return chosen
