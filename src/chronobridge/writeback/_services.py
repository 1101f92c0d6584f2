"""What matching and write-back need from the rest of the hub, as ports the composition root
(`chronobridge.wiring`) fills: a DrChrono client per connection, the sync core's ingest, the
mapping and its time zones, and the job queue. Tests fill them with the emulator and real
databases.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.client import DrChronoClient
from chronobridge.domain.budget import Priority
from chronobridge.domain.mappings import CompiledMapping, MappingContext
from chronobridge.domain.timezones import TimeZones
from chronobridge.store import (
    BlindIndex,
    Database,
    MatchIndex,
    MatchReviews,
    PendingCreates,
    Writebacks,
)

__all__ = [
    "ClientFactory",
    "ContextSource",
    "DoctorZones",
    "Enqueuer",
    "Ingestor",
    "WritebackServices",
    "WritebackSettings",
]

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]


class ClientFactory(Protocol):
    """A client acting as the connection's DrChrono user, at a priority (closed on exit)."""

    def __call__(
        self, connection_id: int | None, priority: Priority, /
    ) -> AbstractAsyncContextManager[DrChronoClient]: ...


class Ingestor(Protocol):
    """The sync core's ingest for objects the hub wrote (source `writeback`): the store holds
    the created or changed object at once, match index included."""

    async def __call__(
        self,
        *,
        app_id: int,
        connection_id: int | None,
        resource: str,
        records: Sequence[Mapping[str, Any]],
        timezones: TimeZones,
    ) -> None: ...


class ContextSource(Protocol):
    """The mapping context (doctors' time zones) for an application."""

    async def __call__(self, app_id: int, client: DrChronoClient, /) -> MappingContext: ...


class Enqueuer(Protocol):
    """Put the write-back's workflow on the queue inside the caller's transaction (DBOS
    `Jobs.enqueue_in_transaction`), so the outbox row and its job commit together.
    `prepare` runs first, outside any transaction (creating the queue tables on first use)."""

    async def prepare(self) -> None: ...

    async def __call__(
        self, tx: AsyncConnection, writeback_id: int, workflow_id: str, priority: Priority, /
    ) -> None: ...


@dataclass(frozen=True, kw_only=True)
class WritebackSettings:
    lease: timedelta = timedelta(seconds=120)
    """How long an execution holds an outbox row or a create lock before others may take it
    over (it must outlast the client's timeout: a live owner is never overtaken)."""
    wait_for_create: float = 150.0
    """How long a create waits for a racing create of the same patient to finish."""
    poll_interval: float = 0.1
    inline_attempts: int = 3
    """Sends the CLI tries before it leaves a 429/5xx/network failure to the workers."""
    inline_retry_cap: float = 4.0
    lookup_limit: int = 500
    """DrChrono patients read when looking for an existing one (same birth date)."""
    patient_model: str = "patient"
    appointment_model: str = "appointment"


class DoctorZones:
    """The default `ContextSource`: doctors' time zones read from DrChrono, kept 10 minutes."""

    def __init__(self, *, ttl: timedelta = timedelta(minutes=10)) -> None:
        self._ttl = ttl
        self._cache: dict[int, tuple[datetime, MappingContext]] = {}

    async def __call__(self, app_id: int, client: DrChronoClient, /) -> MappingContext:
        now = datetime.now(UTC)
        cached = self._cache.get(app_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        doctors = [doctor async for doctor in client.resource("doctors").list()]
        context = MappingContext(timezones=TimeZones.from_doctors(doctors))
        self._cache[app_id] = (now, context)
        return context


@dataclass(kw_only=True)
class WritebackServices:
    """Everything the matcher, the review queue and the write-back executor use."""

    db: Database
    clients: ClientFactory
    mapping: CompiledMapping
    ingest: Ingestor | None = None
    contexts: ContextSource = field(default_factory=DoctorZones)
    enqueue: Enqueuer | None = None
    settings: WritebackSettings = field(default_factory=WritebackSettings)
    clock: Clock = field(default=lambda: datetime.now(UTC))
    sleep: Sleep = asyncio.sleep
    blind: BlindIndex = field(init=False, repr=False)
    index: MatchIndex = field(init=False, repr=False)
    reviews: MatchReviews = field(init=False, repr=False)
    locks: PendingCreates = field(init=False, repr=False)
    outbox: Writebacks = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.blind = BlindIndex(self.db)
        self.index = MatchIndex(self.db)
        self.reviews = MatchReviews(self.db)
        self.locks = PendingCreates(self.db)
        self.outbox = Writebacks(self.db)

    def now(self) -> datetime:
        return self.clock()
