"""`chronobridge connections list | test | deauthorize`: the App Directory as the hub knows it."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from chronobridge.cli._common import AppOpt, FormatOpt, OutputFormat, table
from chronobridge.cli._errors_out import run
from chronobridge.connections import Deauthorization, DirectoryEntry, explain_denied
from chronobridge.errors import PermissionDenied
from chronobridge.store import Connection, Connections, Role
from chronobridge.wiring import Hub

__all__ = ["register"]

NameArg = Annotated[str, typer.Argument(help="The DrChrono username (or connection id).")]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The DrChrono users connected to the hub.", no_args_is_help=True)
    group.command("list")(list_connections)
    group.command("test")(check)
    group.command("deauthorize")(deauthorize)
    app.add_typer(group, name="connections")


def list_connections(*, app: AppOpt = None, output: FormatOpt = OutputFormat.TABLE) -> None:
    """Who has authorized the application (the App Directory): user, role, provider, status."""

    async def work() -> list[DirectoryEntry]:
        async with Hub.open() as hub:
            return await hub.directory(app)

    entries = run(work)
    if output is OutputFormat.JSON:
        typer.echo(json.dumps([e.as_json() for e in entries], indent=2))
        return
    if not entries:
        typer.echo("No connection yet: run chronobridge connect.")
        return
    headers = ("ID", "APP", "USER", "ROLE", "PROVIDER", "STATUS", "SINCE", "LAST USED")
    rows = [
        (e.connection_id, e.app, e.user, e.role.value, _provider(e), e.status.value,
         e.since.strftime("%Y-%m-%d %H:%M"),
         e.last_used_at.strftime("%Y-%m-%d %H:%M") if e.last_used_at else None)
        for e in entries
    ]  # fmt: skip
    typer.echo(table(headers, rows))


def check(name: NameArg, *, app: AppOpt = None) -> None:
    """Call /api/users/current as this user: OK, or why not."""

    async def work() -> Connection:
        async with Hub.open() as hub:
            connection = await hub.connection(name, app=app)
            try:
                async with await hub.client(connection) as client:
                    await client.call("users_current")
            except PermissionDenied as denied:
                raise await explain_denied(hub.services, connection, denied) from None
            await Connections(hub.db).touch(connection.id, now=hub.services.now())
            return connection

    connection = run(work)
    typer.echo(f"OK: {connection.username} can call DrChrono.")


def deauthorize(
    name: NameArg,
    *,
    app: AppOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    reason: Annotated[str | None, typer.Option(help="Why (kept in the audit log).")] = None,
) -> None:
    """Remove the application for this user, as DrChrono does: a provider's staff go too."""

    async def work() -> Deauthorization | None:
        async with Hub.open() as hub:
            connection = await hub.connection(name, app=app)
            if not yes and not typer.confirm(_question(connection)):
                return None
            return await hub.deauthorize(connection, actor="cli", reason=reason)

    result = run(work)
    if result is None:
        typer.echo("Nothing changed.")
        raise typer.Exit(1)
    typer.echo(_done(result))


def _provider(entry: DirectoryEntry) -> str:
    if entry.role is Role.DOCTOR:
        return "(self)"
    return f"{entry.provider} ({entry.provider_id})" if entry.provider else str(entry.provider_id)


def _question(connection: Connection) -> str:
    also = " and of every staff member working for them" if connection.role is Role.DOCTOR else ""
    return (
        f"Deauthorize {connection.username}? Their tokens{also} are revoked and deleted, and "
        "their jobs stop."
    )


def _done(result: Deauthorization) -> str:
    first, *staff = result.removed
    names = f" and {len(staff)} staff connection(s): {', '.join(c.username for c in staff)}"
    lines = [f"Deauthorized {first.username}{names if staff else ''}."]
    lines.append(f"Revoked {result.revoked} token(s) at DrChrono.")
    later = "a worker retries (chronobridge serve or chronobridge worker must be running)"
    if result.revoke_failed:
        lines.append(
            f"DrChrono has not confirmed the revocation of {result.revoke_failed} token(s); "
            f"they are deleted here, {later if result.retrying else 'and the audit log says so'}."
        )
    if result.iframe_removed:
        lines.append("DrChrono removed the provider group's iframe registration.")
    elif result.iframe_retrying:
        lines.append(f"DrChrono did not confirm the removal of the provider group's iframe "
                     f"registration; {later}.")  # fmt: skip
    elif result.iframe_left:
        lines.append(
            "The provider group's iframe registration is still at DrChrono: no provider "
            "connection can remove it. Remove the application's iframe in DrChrono, or connect "
            "the provider again and run chronobridge connections deauthorize for them."
        )
    return "\n".join(lines)
