"""Everything one run needs, gathered by the engine before the run starts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from chronobridge.client import DrChronoClient
from chronobridge.domain.cursors import CursorPolicy
from chronobridge.domain.events import ChangeSource
from chronobridge.domain.mappings import CompiledMapping
from chronobridge.domain.timezones import TimeZones
from chronobridge.store import Database
from chronobridge.sync._clients import CallCounter
from chronobridge.sync._ingest import IngestHook, IngestOptions
from chronobridge.sync._options import EngineOptions
from chronobridge.sync._plan import ResourcePlan
from chronobridge.sync._report import ProgressCallback
from chronobridge.sync._state import RunMode

__all__ = ["BudgetView", "RunContext"]

BudgetView = Callable[[], Awaitable[tuple[int | None, float]]]
"""(calls this run's priority may still spend this hour, or None; share of the poll budget left)."""


@dataclass(frozen=True, kw_only=True)
class RunContext:
    db: Database
    app_id: int
    plan: ResourcePlan
    mapping: CompiledMapping
    timezones: TimeZones
    hooks: tuple[IngestHook, ...]
    options: EngineOptions
    client: DrChronoClient
    connection_id: int | None
    counter: CallCounter
    clock: Callable[[], datetime]
    budget: BudgetView
    progress: ProgressCallback | None = None

    @property
    def resource(self) -> str:
        return self.plan.resource

    def now(self) -> datetime:
        return self.clock()

    @property
    def page_size(self) -> int:
        wanted = self.options.page_size or self.plan.page_size
        return max(1, min(wanted, self.plan.page_size))

    @property
    def cursor_policy(self) -> CursorPolicy:
        return self.options.cursor

    def batched(self, mode: RunMode) -> bool:
        """Complete passes (backfill, scan, reconcile) read the batch endpoint where there is
        one: its pages are 4x (clinical note field values: 80x) those of the list."""
        return self.plan.batch and self.options.use_batch and mode.detects_deletions

    def ingest_options(self, source: ChangeSource) -> IngestOptions:
        return IngestOptions(
            source=source,
            connection_id=self.connection_id,
            timezones=self.timezones,
            mapping=self.mapping,
            hooks=self.hooks,
        )

    async def budget_left(self) -> int | None:
        return (await self.budget())[0]

    async def budget_share(self) -> float:
        return (await self.budget())[1]
