"""`chronobridge connect`: authorize one DrChrono user (a provider or a staff member).

It starts the flow (state, PKCE, explicit scopes), then GETs the authorize URL once without a
browser: an emulator started with --auto-approve (or a refusal) answers with the redirect at
once and the command completes unattended. Otherwise a person must sign in: the URL is printed
(and opened in a browser unless --no-browser) and a local listener on the redirect URI waits for
DrChrono's answer. When `chronobridge serve` of the same hub already listens there (the usual
setup: serve on 8600, the default redirect URI), its /oauth/callback completes the flow and the
command waits for the connection to appear in the store. `--print-url` and `--complete URL`
split the flow in two for machines where the redirect URI is not local.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import re
import webbrowser
from typing import Annotated
from urllib.parse import urlsplit

import httpx2
import typer

from chronobridge.cli._callback import PortInUse, callback_listener, is_local
from chronobridge.cli._common import AppOpt
from chronobridge.cli._errors_out import run
from chronobridge.connections import (
    AuthorizationStart,
    Callback,
    audit_mark,
    complete_authorization,
    hub_fingerprint,
    probe_authorization,
    start_authorization,
    wait_for_connection,
)
from chronobridge.errors import ConfigError, OAuthError
from chronobridge.store import Connection
from chronobridge.wiring import Hub

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command("connect")(connect)


def connect(
    *,
    app: AppOpt = None,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            help="Scopes to ask for (repeatable, or spaces/commas); default: the application's.",
            show_default=False,
        ),
    ] = None,
    redirect_uri: Annotated[
        str | None, typer.Option(help="One of the application's redirect URIs.")
    ] = None,
    timeout: Annotated[int, typer.Option(min=1, help="Seconds to wait for the browser.")] = 300,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Only print the URL.")] = False,
    print_url: Annotated[
        bool, typer.Option("--print-url", help="Print the authorize URL and stop.")
    ] = False,
    complete: Annotated[
        str | None,
        typer.Option(
            help="Finish with the address the browser landed on after authorizing.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Connect a DrChrono user: authorize the application, store the tokens encrypted."""
    scopes = _scopes(scope)

    async def work() -> Connection | None:
        async with Hub.open() as hub:
            if complete is not None:
                return await complete_authorization(hub.services, Callback.from_url(complete))
            chosen = await hub.app(app)
            start = await start_authorization(
                hub.services, chosen, scopes=scopes, redirect_uri=redirect_uri
            )
            if print_url:
                typer.echo(start.url)
                return None
            callback = (await probe_authorization(hub.services, start)).callback
            if callback is not None:
                return await complete_authorization(hub.services, callback)
            return await _in_browser(hub, start, seconds=timeout, browser=not no_browser)

    connection = run(work)
    if connection is not None:
        typer.echo(_connected(connection))


async def _in_browser(
    hub: Hub, start: AuthorizationStart, *, seconds: int, browser: bool
) -> Connection:
    if not is_local(start.redirect_uri):
        typer.echo(f"Open this address in a browser and authorize the application:\n\n"
                   f"  {start.url}\n\nThen run: chronobridge connect --complete "
                   "'<the address the browser landed on>'")  # fmt: skip
        raise typer.Exit(0)
    try:
        with callback_listener(start.redirect_uri) as answers:
            _show(start, f"Waiting up to {seconds} s for DrChrono's answer on "
                  f"{start.redirect_uri} (Ctrl-C stops).", browser=browser)  # fmt: skip
            path = await _wait(answers, seconds)
    except PortInUse as busy:
        return await _through_serve(hub, start, busy, seconds=seconds, browser=browser)
    return await complete_authorization(hub.services, Callback.from_url(path))


async def _through_serve(
    hub: Hub, start: AuthorizationStart, busy: PortInUse, *, seconds: int, browser: bool
) -> Connection:
    """The port is taken: by this hub's own `chronobridge serve`, whose /oauth/callback then
    completes the flow, or by something else (then say exactly what to do)."""
    base = _origin(start.redirect_uri)
    await _check_serve(base, start.redirect_uri, hub_fingerprint(hub.settings.database), busy)
    mark = await audit_mark(hub.services)
    _show(start, f"chronobridge serve at {base} receives DrChrono's answer; waiting up to "
          f"{seconds} s for the connection to appear (Ctrl-C stops).", browser=browser)  # fmt: skip
    return await wait_for_connection(
        hub.services, start.app, after=mark, seconds=seconds, where=base
    )


async def _check_serve(base: str, redirect_uri: str, mine: str, busy: PortInUse) -> None:
    try:
        async with httpx2.AsyncClient(timeout=3.0) as http:
            answer = await http.get(f"{base}/oauth/hub")
        found = answer.json() if answer.status_code == 200 else None
    except (httpx2.HTTPError, ValueError):
        found = None
    if not isinstance(found, dict) or "hub" not in found:
        raise busy
    if found["hub"] != mine or not found.get("completes"):
        raise ConfigError(
            f"The chronobridge serve at {base} uses another hub's database, so it cannot "
            "complete this authorization",
            hint="Run chronobridge connect with that serve's CHRONOBRIDGE_HOME (or "
            "CHRONOBRIDGE_DATABASE_URL), or stop it and run chronobridge connect again.",
        )
    if urlsplit(redirect_uri).path != found.get("callback"):
        raise ConfigError(
            f"The chronobridge serve at {base} answers DrChrono on {found.get('callback')}, not "
            f"on the redirect URI {redirect_uri}",
            hint=f"Register {base}{found.get('callback')} as a redirect URI and pass it with "
            "--redirect-uri, or stop that serve.",
        )


def _show(start: AuthorizationStart, waiting: str, *, browser: bool) -> None:
    typer.echo(f"Open this address in a browser and authorize the application:\n\n"
               f"  {start.url}\n\n{waiting}")  # fmt: skip
    if browser:
        with contextlib.suppress(Exception):  # no browser here: the URL is printed
            webbrowser.open(start.url)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def _wait(answers: queue.Queue[str], seconds: int) -> str:
    """Poll the listener's queue (a blocked thread could not be interrupted by Ctrl-C)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        with contextlib.suppress(queue.Empty):
            return answers.get_nowait()
        await asyncio.sleep(0.1)
    raise OAuthError(
        f"No answer from DrChrono within {seconds} s",
        hint="Run chronobridge connect again and authorize in the browser (or pass "
        "--timeout with more seconds).",
    )


def _connected(connection: Connection) -> str:
    role = "provider" if connection.role.value == "doctor" else "staff member"
    acting = "" if role == "provider" else f" of provider {connection.doctor_id}"
    return (
        f"Connected {connection.username} ({role}{acting}, DrChrono user "
        f"{connection.drchrono_user_id}) with {len(connection.scopes)} scope(s)."
    )


def _scopes(values: list[str] | None) -> tuple[str, ...] | None:
    if not values:
        return None
    return tuple(part for value in values for part in re.split(r"[\s,]+", value) if part)
