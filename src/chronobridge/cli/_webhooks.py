"""`chronobridge webhooks log | reprocess | setup | reconcile`: the webhook log and its upkeep.

The log shows ids, events, statuses, timings and error classes; a delivery's body (patient
data) is printed only with --show-payload, and each one printed is written to the audit log.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated

import typer

from chronobridge.cli._common import AppOpt, FormatOpt, OutputFormat, actor, table
from chronobridge.cli._errors_out import fail, run
from chronobridge.cli._webhooks_reconcile import reconcile_command
from chronobridge.cli._webhooks_refused import refusals_log
from chronobridge.cli._webhooks_setup import setup
from chronobridge.errors import InvalidRequest
from chronobridge.ingress import read_payload, reprocess
from chronobridge.store import Inbox, StoredDelivery, load_keyring
from chronobridge.store.tables import DELIVERY_STATUSES
from chronobridge.wiring import Hub
from chronobridge.workers import Database as JobsDatabase
from chronobridge.workers import Jobs

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="DrChrono's webhooks: the log, reprocessing, setup, reconciliation.")
    group.command("log")(log)
    group.command("reprocess")(reprocess_command)
    group.command("setup")(setup)
    group.command("reconcile")(reconcile_command)
    app.add_typer(group, name="webhooks")


def log(
    *,
    status: Annotated[
        list[str] | None,
        typer.Option(help=f"Only these statuses ({', '.join(DELIVERY_STATUSES)}); repeatable."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    app: AppOpt = None,
    output: FormatOpt = OutputFormat.TABLE,
    show_payload: Annotated[
        bool, typer.Option("--show-payload", help="Print each body too (audited: patient data).")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="Why the bodies are read (audit).")] = None,
    refused: Annotated[
        bool,
        typer.Option(
            "--refused",
            help="The requests refused instead (wrong secret, bad request, database away): "
            "counts per minute, application, reason and event.",
        ),
    ] = False,
) -> None:
    """The deliveries received: event, delivery id, time, verification, status, timings."""
    if refused:
        refusals_log(app=app, limit=limit, output=output)
        return
    _check_statuses(status or [])

    async def work() -> tuple[list[StoredDelivery], dict[str, int], list[str]]:
        async with Hub.open() as hub:
            app_id = (await hub.app(app)).id if app else None
            inbox = Inbox(hub.db)
            rows = await inbox.recent(statuses=status or [], app_id=app_id, limit=limit)
            payloads = [
                (await read_payload(hub.db, row, actor=actor(), reason=reason)).decode(
                    "utf-8", errors="replace"
                )
                for row in (rows if show_payload else [])
            ]
            return rows, await inbox.counts(app_id=app_id), payloads

    rows, counts, payloads = run(work)
    if output is OutputFormat.JSON:
        typer.echo(json.dumps(_json(rows, payloads), indent=2))
        return
    typer.echo(_table(rows))
    summary = ", ".join(f"{name} {counts[name]}" for name in DELIVERY_STATUSES if name in counts)
    typer.echo(f"\ntotal: {summary or 'no deliveries yet'}")
    for row, payload in zip(rows, payloads, strict=False):
        typer.echo(f"\n--- {row.delivery_id} ({row.event})\n{payload}")


def reprocess_command(
    delivery_ids: Annotated[
        list[str] | None, typer.Argument(help="X-drchrono-delivery ids.", show_default=False)
    ] = None,
    *,
    failed: Annotated[bool, typer.Option("--failed", help="Every failed delivery.")] = False,
    app: AppOpt = None,
) -> None:
    """Process deliveries again (after a fix: a reconnected user, a corrected mapping)."""
    if not delivery_ids and not failed:
        fail("Name delivery ids, or pass --failed.")

    async def work() -> list[str]:
        async with Hub.open() as hub:
            app_id = (await hub.app(app)).id if app else None
            rows = await _chosen(Inbox(hub.db), delivery_ids or [], failed=failed, app_id=app_id)
            jobs = hub_jobs(hub)
            try:
                return await reprocess(hub.db, jobs, rows)
            finally:
                jobs.close()

    started = run(work)
    typer.echo(f"reprocessing {len(started)} deliveries")
    for workflow_id in started:
        typer.echo(f"  {workflow_id}")


async def _chosen(
    inbox: Inbox, delivery_ids: Sequence[str], *, failed: bool, app_id: int | None
) -> list[StoredDelivery]:
    rows: list[StoredDelivery] = []
    for delivery_id in delivery_ids:
        found = await inbox.by_delivery_id(delivery_id, app_id=app_id)
        if not found:
            raise InvalidRequest(f"No delivery {delivery_id} in the webhook log.")
        rows += found
    if failed:
        rows += await inbox.recent(statuses=["failed"], app_id=app_id, limit=100_000)
    return list({row.id: row for row in rows}.values())


def hub_jobs(hub: Hub) -> Jobs:
    """An enqueue-only jobs client on the hub's database (no worker runs here)."""
    return Jobs(JobsDatabase.parse(hub.settings.database), load_keyring(hub.settings))


def _check_statuses(statuses: Sequence[str]) -> None:
    unknown = sorted(set(statuses) - set(DELIVERY_STATUSES))
    if unknown:
        fail(f"Unknown status {', '.join(unknown)}; use {', '.join(DELIVERY_STATUSES)}.")


def _table(rows: Sequence[StoredDelivery]) -> str:
    headers = ("RECEIVED", "EVENT", "DELIVERY", "OBJECT", "SIGNATURE", "STATUS", "TRIES",
               "REPEATS", "LATENCY", "CHANGES", "ERROR")  # fmt: skip
    cells = [
        (row.received_at.strftime("%Y-%m-%d %H:%M:%S"), row.event, row.delivery_id,
         row.object_id, row.signature_mode if row.verified else "unverified", row.status,
         row.attempts, row.repeats, _ms(row.latency_ms), row.changes, row.error_class)
        for row in rows
    ]  # fmt: skip
    return table(headers, cells)


def _ms(value: float | None) -> str | None:
    return None if value is None else f"{value:.0f} ms"


def _json(rows: Sequence[StoredDelivery], payloads: Sequence[str]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for index, row in enumerate(rows):
        item: dict[str, object] = {
            "id": row.id, "app_id": row.app_id, "delivery_id": row.delivery_id,
            "event": row.event, "received_at": row.received_at.isoformat(),
            "verified": row.verified, "signature_mode": row.signature_mode,
            "resource": row.resource, "object_id": row.object_id, "status": row.status,
            "attempts": row.attempts, "repeats": row.repeats, "latency_ms": row.latency_ms,
            "changes": row.changes, "error_class": row.error_class,
            "workflow_id": row.workflow_id, "payload_bytes": row.payload_bytes,
        }  # fmt: skip
        if index < len(payloads):
            item["payload"] = payloads[index]
        out.append(item)
    return out
