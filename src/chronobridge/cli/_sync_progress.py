"""Progress of `chronobridge sync`: rich bars on a terminal, plain lines in a pipe.

One bar per resource: records so far, pages (of the total when a batch says), calls made,
and the calls this run's priority may still spend this hour.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from chronobridge.sync import Progress as SyncProgress

__all__ = ["SyncBars"]


class SyncBars:
    def __init__(self, *, console: Console | None = None, enabled: bool = True) -> None:
        self.console = console or Console(stderr=True)
        self.live = enabled and self.console.is_terminal
        self.bars = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description:<24}"),
            BarColumn(),
            TextColumn("{task.fields[records]:>8,} records"),
            TextColumn("{task.fields[pages]:>5} pages"),
            TextColumn("{task.fields[calls]:>5} calls"),
            TextColumn("budget left {task.fields[budget]}"),
            TimeElapsedColumn(),
            console=self.console,
            disable=not self.live,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> SyncBars:
        self.bars.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.bars.__exit__(kind, error, tb)

    def update(self, progress: SyncProgress) -> None:
        task = self._task(progress.resource)
        budget = "-" if progress.budget_left is None else f"{progress.budget_left:,}"
        self.bars.update(
            task,
            total=progress.total_pages,
            completed=progress.pages,
            budget=budget,
            records=progress.records,
            pages=progress.pages,
            calls=progress.calls,
        )
        if not self.live and (progress.pages == 1 or progress.pages % 20 == 0):
            self.console.print(
                f"{progress.resource}: {progress.pages} pages, {progress.records:,} records, "
                f"{progress.calls} calls, budget left {budget}",
                highlight=False,
            )

    def done(self, resource: str) -> None:
        task = self._task(resource)
        finished = self.bars.tasks[self.tasks[resource]].completed
        self.bars.update(task, total=max(finished, 1), completed=max(finished, 1))

    def _task(self, resource: str) -> TaskID:
        if resource not in self.tasks:
            self.tasks[resource] = self.bars.add_task(
                resource, total=None, records=0, pages=0, calls=0, budget="-"
            )
        return self.tasks[resource]
