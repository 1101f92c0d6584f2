"""What the patients, appointments and matches commands share: a write-back session on the
hub (the services come from `chronobridge.wiring.writeback_services`).

    async with writeback_session(app=None, connection=None) as session:
        result = await submit(session.services, change, app_id=session.app_id,
                              connection_id=session.connection_id, inline=True)

The pieces: a client per connection (the hub's tokens, budget and API log), the sync core's
`ingest` with the match-index hook (source `writeback`), the default mapping, and a DBOS
enqueuer on the `writeback` queue for changes the CLI could not send (429, 5xx, network).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chronobridge.cli._common import actor
from chronobridge.errors import InvalidRequest
from chronobridge.wiring import Hub, JobsEnqueuer, writeback_services
from chronobridge.writeback import WritebackServices

__all__ = ["WritebackSession", "actor", "read_json", "writeback_session"]


@dataclass(frozen=True, kw_only=True)
class WritebackSession:
    hub: Hub
    services: WritebackServices
    app_id: int
    connection_id: int


@contextlib.asynccontextmanager
async def writeback_session(
    *, app: str | None, connection: str | None
) -> AsyncIterator[WritebackSession]:
    async with Hub.open() as hub:
        chosen = await hub.connection(connection, app=app)
        enqueuer = JobsEnqueuer(hub.settings, hub)
        try:
            services = writeback_services(hub, enqueue=enqueuer)
            yield WritebackSession(
                hub=hub, services=services, app_id=chosen.app_id, connection_id=chosen.id
            )
        finally:
            enqueuer.close()


def read_json(source: str) -> dict[str, Any]:
    """A JSON object from a file, or from standard input with `-`."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidRequest(
            f"Could not read {source} ({type(error).__name__})", hint="Check the path."
        ) from None
    try:
        loaded = json.loads(text)
    except ValueError:
        raise InvalidRequest(
            f"{source} is not valid JSON", hint="Give one JSON object of model fields."
        ) from None
    if not isinstance(loaded, dict):
        raise InvalidRequest(f"{source} holds no JSON object", hint="Give one JSON object.")
    return loaded
