"""`chronobridge apps add | list | update | remove`: the DrChrono API applications the hub uses.

Secrets (client secret, webhook secret) are asked for with a hidden prompt when not given (or
given as `-`) and are never printed back. The application the environment describes
(CHRONOBRIDGE_CLIENT_ID) takes its client secret, redirect URI, scopes, API version and URL from
the environment; `apps update` changes the rest, and everything of an app from `apps add`.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from typing import Annotated

import typer

from chronobridge.catalog import SCOPES
from chronobridge.cli._common import FormatOpt, OutputFormat, actor, table
from chronobridge.cli._errors_out import fail, run
from chronobridge.errors import ConfigError
from chronobridge.store import App, AppSpec
from chronobridge.wiring import Hub, load_settings

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Register, list, change and remove DrChrono API applications.", no_args_is_help=True
    )
    group.command("add")(add)
    group.command("list")(list_apps)
    group.command("update")(update)
    group.command("remove")(remove)
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
    secret = _given(client_secret, "Client secret", option="--client-secret") or _ask(
        "Client secret", option="--client-secret"
    )
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


NameArg = Annotated[str, typer.Argument(help="The application's name (or client id).")]
PROMPT = "-"  # an option's value that means: ask for it with a hidden prompt


def update(
    name: NameArg,
    *,
    new_name: Annotated[
        str | None, typer.Option("--name", help="A new name.", show_default=False)
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(help="The client secret ('-': asked for, hidden).", show_default=False),
    ] = None,
    redirect_uri: Annotated[
        list[str] | None,
        typer.Option(
            help="Registered redirect URI (repeatable; replaces them all).", show_default=False
        ),
    ] = None,
    scopes: Annotated[
        str | None, typer.Option(help="Scopes to ask for (spaces or commas).", show_default=False)
    ] = None,
    api_version: Annotated[
        str | None, typer.Option(help="DrChrono API version header.", show_default=False)
    ] = None,
    webhook_secret: Annotated[
        str | None,
        typer.Option(help="The webhook's secret token ('-': asked for).", show_default=False),
    ] = None,
    drchrono_url: Annotated[
        str | None, typer.Option(help="DrChrono's base URL.", show_default=False)
    ] = None,
    rate_limit: Annotated[
        int | None, typer.Option(min=1, help="Calls per hour DrChrono allows.", show_default=False)
    ] = None,
) -> None:
    """Change a registered application: a wrong secret or redirect URI, new scopes, a name."""
    changes = {
        "name": new_name,
        "client_secret": _given(client_secret, "Client secret", option="--client-secret"),
        "redirect_uris": tuple(redirect_uri) if redirect_uri else None,
        "scopes": _scopes(scopes) if scopes is not None else None,
        "api_version": api_version,
        "webhook_secret": _given(webhook_secret, "Webhook secret", option="--webhook-secret"),
        "drchrono_url": drchrono_url.rstrip("/") if drchrono_url else None,
        "rate_limit": rate_limit,
    }  # fmt: skip

    async def work() -> tuple[App, App]:
        async with Hub.open() as hub:
            before = await hub.app(name)
            return before, await hub.update_app(before, actor=actor(), **changes)

    before, after = run(work)
    changed = sorted(k for k in changes if getattr(before, k) != getattr(after, k))
    if not changed:
        typer.echo(f"Application {after.name} is unchanged.")
        return
    typer.echo(f"Updated application {after.name}: {', '.join(changed)}.")


def remove(
    name: NameArg,
    *,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    deauthorize_all: Annotated[
        bool,
        typer.Option(
            "--deauthorize",
            help="Deauthorize its connections first (DrChrono's "
            "semantics), instead of refusing while one is active.",
        ),
    ] = False,
) -> None:
    """Remove an application and everything stored for it (connections, synced records, logs)."""

    async def work() -> tuple[str, int] | None:
        async with Hub.open() as hub:
            chosen = await hub.app(name)
            if not yes and not _confirm(_question(chosen.name, deauthorize_all=deauthorize_all)):
                return None
            count = await hub.remove_app(chosen, actor=actor(), deauthorize_all=deauthorize_all)
            return chosen.name, count

    result = run(work)
    if result is None:
        typer.echo("Nothing changed.")
        raise typer.Exit(1)
    typer.echo(f"Removed application {result[0]} and its {result[1]} connection(s).")


def _question(name: str, *, deauthorize_all: bool) -> str:
    first = "deauthorize its connections at DrChrono, then " if deauthorize_all else ""
    return (
        f"Remove application {name}? This will {first}delete its connections, tokens, "
        "budget, API log, webhook log and every record synced for it."
    )


def _confirm(question: str) -> bool:
    try:
        return typer.confirm(question)
    except typer.Abort:
        fail("No terminal to confirm the removal. Pass --yes to remove without a question.")


def _given(value: str | None, prompt: str, *, option: str) -> str | None:
    """An option's value: None when left out, asked for (hidden) when given as '-'."""
    return _ask(prompt, option=option) if value == PROMPT else value


def _ask(prompt: str, *, option: str) -> str:
    """A hidden prompt at a terminal, else one line piped on stdin; with neither, one sentence
    naming the option (instead of click's bare "Aborted.")."""
    answer = ""
    if sys.stdin.isatty():
        with contextlib.suppress(typer.Abort):
            answer = typer.prompt(prompt, hide_input=True)
    else:
        answer = sys.stdin.readline().rstrip("\r\n")
    if not answer:
        fail(f"No {prompt.lower()} was given and there is no terminal to ask for it. Pass "
             f"{option} VALUE (or pipe it on stdin).")  # fmt: skip
    return answer


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
