"""`chronobridge webhooks log --refused`: the requests the receiver refused, as counts.

Forged or malformed requests never reach the webhook log; this is their trace, for whoever
debugs "my webhooks fail": per minute, the application (when the URL named one), the reason
code, the event (when DrChrono sends such a name) and how many. A wrong secret shows as
`signature_mismatch`, a proxy that rewrites the content type as `unsupported_media_type`, an
unreachable database as `unavailable` (answered 503, DrChrono retries).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import typer

from chronobridge.cli._common import OutputFormat, table
from chronobridge.cli._errors_out import run
from chronobridge.store import RefusalCount, Refusals
from chronobridge.wiring import Hub

__all__ = ["refusals_log"]


def refusals_log(*, app: str | None, limit: int, output: OutputFormat) -> None:
    async def work() -> list[RefusalCount]:
        async with Hub.open() as hub:
            app_id = (await hub.app(app)).id if app else None
            return await Refusals(hub.db).recent(app_id=app_id, limit=limit)

    rows = run(work)
    if output is OutputFormat.JSON:
        typer.echo(json.dumps([_json(row) for row in rows], indent=2))
        return
    typer.echo(_table(rows))
    total = sum(row.count for row in rows)
    typer.echo(f"\n{total} requests refused" if rows else "\nno refused requests recorded")


def _table(rows: Sequence[RefusalCount]) -> str:
    headers = ("MINUTE", "APP", "REASON", "EVENT", "COUNT")
    cells = [
        (row.minute.strftime("%Y-%m-%d %H:%M"), row.app_id, row.reason, row.event, row.count)
        for row in rows
    ]
    return table(headers, cells)


def _json(row: RefusalCount) -> dict[str, object]:
    return {
        "minute": row.minute.isoformat(),
        "app_id": row.app_id,
        "reason": row.reason,
        "event": row.event,
        "count": row.count,
    }
