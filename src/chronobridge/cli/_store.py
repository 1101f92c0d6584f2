"""`chronobridge store get RESOURCE ID` and `store list [RESOURCE]`: what the store holds.

Printing a record shows patient data, so it writes an audit row first (who, which record,
why); a listing without `--format json` shows ids, times and digests only.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer

from chronobridge.cli._common import AppOpt, FormatOpt, OutputFormat, table
from chronobridge.cli._errors_out import fail, run
from chronobridge.cli._sync_common import actor
from chronobridge.errors import NotFound
from chronobridge.store import (
    AuditEntry,
    AuditLog,
    Cursors,
    Database,
    ModelRows,
    Records,
    StoredRecord,
    SyncErrors,
)
from chronobridge.sync import syncable
from chronobridge.wiring import Hub

__all__ = ["register"]

ReasonOpt = Annotated[
    str | None, typer.Option("--reason", help="Why you look (kept in the audit log).")
]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Read what the practice store holds.", no_args_is_help=True)
    group.command("get")(get)
    group.command("list")(list_records)
    app.add_typer(group, name="store")


def get(
    resource: Annotated[str, typer.Argument(help="A DrChrono resource, e.g. patients.")],
    record_id: Annotated[str, typer.Argument(metavar="ID", help="The DrChrono id.")],
    *,
    app: AppOpt = None,
    reason: ReasonOpt = None,
) -> None:
    """Print one stored record (decrypted JSON) and its practice-model rows."""

    async def work() -> dict[str, Any]:
        async with Hub.open() as hub:
            app_id = (await hub.app(app)).id
            found = await Records(hub.db).get(
                app_id=app_id, resource=resource, external_id=record_id
            )
            if found is None:
                raise NotFound(f"The store has no {resource} {record_id}")
            await _audit(hub.db, "record.view", resource, record_id, reason, app_id, 1)
            return await _document(hub.db, found)

    typer.echo(json.dumps(run(work), indent=2, sort_keys=True, default=str))


def list_records(
    resource: Annotated[
        str | None, typer.Argument(help="A resource; without one: every resource's counts.")
    ] = None,
    *,
    app: AppOpt = None,
    after: Annotated[int, typer.Option(help="Show rows after this row number.")] = 0,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 50,
    deleted: Annotated[bool, typer.Option("--deleted", help="Include deleted records.")] = False,
    reason: ReasonOpt = None,
    output: FormatOpt = OutputFormat.TABLE,
) -> None:
    """List stored records (ids and times; --format json prints them whole, audited)."""
    if resource is None:
        typer.echo(run(lambda: _summary(app)))
        return
    if resource not in syncable():
        fail(f"{resource} is not a resource the store keeps. chronobridge sync --list shows them.")

    async def work() -> list[StoredRecord]:
        async with Hub.open() as hub:
            app_id = (await hub.app(app)).id
            found = await Records(hub.db).page(
                app_id=app_id, resource=resource, after_id=after, limit=limit,
                include_deleted=deleted,
            )  # fmt: skip
            if output is OutputFormat.JSON:
                await _audit(hub.db, "record.list", resource, None, reason, app_id, len(found))
            return found

    found = run(work)
    if output is OutputFormat.JSON:
        typer.echo(json.dumps([_plain(r) for r in found], indent=2, sort_keys=True, default=str))
        return
    headers = ("ROW", "ID", "UPDATED AT (UTC)", "DELETED AT", "LAST SEEN", "DIGEST")
    rows = [
        (r.id, r.external_id, _when(r.updated_at), _when(r.deleted_at), _when(r.last_seen_at),
         r.digest[:12])
        for r in found
    ]  # fmt: skip
    typer.echo(table(headers, rows) if rows else f"No {resource} stored.")


async def _summary(app: str | None) -> str:
    async with Hub.open() as hub:
        app_id = (await hub.app(app)).id
        cursors = {c.resource: c for c in await Cursors(hub.db).list(app_id=app_id)}
        errors = await SyncErrors(hub.db).counts(app_id=app_id)
        rows = []
        for name in syncable():
            count = await Records(hub.db).count(app_id=app_id, resource=name)
            cursor = cursors.get(name)
            if not count and cursor is None:
                continue
            due = _when(cursor.next_due_at) if cursor else None
            rows.append((name, count, errors.get(name, 0), cursor.mode if cursor else None, due))
    if not rows:
        return "The store is empty: run chronobridge sync."
    return table(("RESOURCE", "RECORDS", "UNMAPPED", "LAST MODE", "NEXT POLL (UTC)"), rows)


async def _document(db: Database, record: StoredRecord) -> dict[str, Any]:
    rows = [
        {"model": row.model, "external_id": row.external_id, "values": row.values,
         "custom": row.custom, "mapping_version": row.mapping_version,
         "deleted_at": _when(row.deleted_at)}
        for row in await ModelRows(db).for_record(record.id)
    ]  # fmt: skip
    return {**_plain(record), "model_rows": rows}


def _plain(record: StoredRecord) -> dict[str, Any]:
    return {
        "resource": record.resource,
        "id": record.external_id,
        "updated_at": _when(record.updated_at),
        "deleted_at": _when(record.deleted_at),
        "first_seen_at": _when(record.first_seen_at),
        "last_seen_at": _when(record.last_seen_at),
        "digest": record.digest,
        "record": record.payload,
    }


async def _audit(
    db: Database,
    action: str,
    resource: str,
    target: str | None,
    reason: str | None,
    app_id: int,
    count: int,
) -> None:
    entry = AuditEntry(
        actor=actor(),
        action=action,
        target_type=resource,
        target_id=target,
        reason=reason,
        details={"app_id": app_id, "records": count, "via": "cli"},
    )
    await AuditLog(db).append(entry)


def _when(value: object) -> str | None:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else None
