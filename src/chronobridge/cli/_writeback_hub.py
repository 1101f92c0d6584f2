"""Write-back and matching composed on the hub (`chronobridge.wiring.Hub`): what the patients,
appointments and matches commands share, and what worker processes install so that the
`chronobridge.writeback.run` jobs find their services.

    async with writeback_session(app=None, connection=None) as session:
        result = await submit(session.services, change, app_id=session.app_id,
                              connection_id=session.connection_id, inline=True)

The pieces: a client per connection (the hub's tokens, budget and API log), the sync core's
`ingest` with the match-index hook (source `writeback`), the default mapping, and a DBOS
enqueuer on the `writeback` queue for changes the CLI could not send (429, 5xx, network).
"""

from __future__ import annotations

import contextlib
import getpass
import json
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.client import DrChronoClient
from chronobridge.domain.budget import Priority
from chronobridge.domain.events import ChangeSource
from chronobridge.domain.mappings import default_mapping
from chronobridge.domain.timezones import TimeZones
from chronobridge.errors import InvalidRequest
from chronobridge.settings import Settings
from chronobridge.sync import ingest
from chronobridge.wiring import Hub
from chronobridge.workers import DEFAULT_QUEUES, Job, Jobs, QueueSpec
from chronobridge.workers import Database as JobsDatabase
from chronobridge.writeback import (
    QUEUE,
    MatchIndexHook,
    WritebackServices,
    install,
    run_writeback,
)

__all__ = [
    "WRITEBACK_QUEUE",
    "WritebackSession",
    "actor",
    "install_for_workers",
    "read_json",
    "writeback_services",
    "writeback_session",
]

WRITEBACK_QUEUE = QueueSpec(name=QUEUE, worker_concurrency=4)
"""Add to the workers' queues (`WorkerConfig(queues=(*DEFAULT_QUEUES, WRITEBACK_QUEUE))`)."""


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


def writeback_services(hub: Hub, *, enqueue: JobsEnqueuer | None = None) -> WritebackServices:
    """The write-back services of an open hub (what `wiring` should offer as `hub.writeback()`)."""
    db, mapping, hook = hub.db, default_mapping(), MatchIndexHook(hub.db)

    @contextlib.asynccontextmanager
    async def clients(
        connection_id: int | None, priority: Priority
    ) -> AsyncIterator[DrChronoClient]:
        chosen = connection_id if connection_id is not None else (await hub.connection()).id
        async with await hub.client(chosen, priority=priority) as client:
            yield client

    async def writeback_ingest(
        *,
        app_id: int,
        connection_id: int | None,
        resource: str,
        records: Sequence[Mapping[str, Any]],
        timezones: TimeZones,
    ) -> None:
        await ingest(
            db,
            app_id=app_id,
            resource=resource,
            records=records,
            source=ChangeSource.WRITEBACK,
            connection_id=connection_id,
            timezones=timezones,
            mapping=mapping,
            hooks=(hook,),
        )

    return WritebackServices(
        db=db, clients=clients, mapping=mapping, ingest=writeback_ingest, enqueue=enqueue,
        clock=hub.services.clock, sleep=hub.services.sleep,
    )  # fmt: skip


class JobsEnqueuer:
    """Enqueues `run_writeback` with DBOS's client, inside the caller's transaction."""

    def __init__(self, settings: Settings, hub: Hub) -> None:
        self._url = settings.database
        self._keys = hub.db.keys
        self._jobs: Jobs | None = None

    async def prepare(self) -> None:
        if self._jobs is None:
            self._jobs = Jobs(JobsDatabase.parse(str(self._url)), self._keys)
            await self._jobs.prepare_async((*DEFAULT_QUEUES, WRITEBACK_QUEUE))

    async def __call__(
        self, tx: AsyncConnection, writeback_id: int, workflow_id: str, priority: Priority, /
    ) -> None:
        await self.prepare()
        assert self._jobs is not None
        order = 1 if priority is Priority.INTERACTIVE else 2
        job = Job(queue=QUEUE, workflow_id=workflow_id, priority=order)
        await self._jobs.enqueue_in_transaction(tx, job, run_writeback, writeback_id)

    def close(self) -> None:
        if self._jobs is not None:
            self._jobs.close()


def install_for_workers(settings: Settings | None = None) -> None:
    """In a worker process: build the services for write-back jobs on first use (per loop)."""
    stack = contextlib.AsyncExitStack()

    async def provider() -> WritebackServices:
        hub = await stack.enter_async_context(Hub.open(settings))
        return writeback_services(hub)

    install(provider)


def actor() -> str:
    """Who is acting, for the audit log: the operating-system user of the CLI."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


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
