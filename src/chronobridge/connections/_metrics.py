"""Prometheus metrics of the DrChrono side: the shared budget and the calls made.

One registry per hub (not the library's global one, so tests and several hubs in one process
never collide); the web layer exposes it at /metrics, `chronobridge budget --format prom` prints
it. Labels carry the application's name, a priority or a status code: never a user, a path with
an id, or anything a patient could be recognised by.

The budget gauges show every process's use, so they come from the store: `observe_budgets`
reads every application's current window in one query when /metrics is scraped (at most once
a second), whoever made the calls (workers, other replicas, the CLI).
"""

from __future__ import annotations

import time
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from chronobridge.domain.budget import Priority
from chronobridge.store import Budget, BudgetUsage, Database

__all__ = ["BUDGET_MAX_AGE", "HubMetrics", "observe_budgets"]

BUDGET_MAX_AGE = 1.0  # seconds: scrapes closer together than this reuse the last read


class HubMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        reg = self.registry
        self.budget_limit = Gauge(
            "chronobridge_budget_limit", "Calls per hour the application may make", ["app"],
            registry=reg,
        )  # fmt: skip
        self.budget_used = Gauge(
            "chronobridge_budget_used", "Calls counted in the current hourly window", ["app"],
            registry=reg,
        )  # fmt: skip
        self.budget_used_by_priority = Gauge(
            "chronobridge_budget_used_by_priority", "Calls of this window by priority",
            ["app", "priority"], registry=reg,
        )  # fmt: skip
        self.budget_parked = Gauge(
            "chronobridge_budget_parked", "1 while DrChrono's 429 parks every caller", ["app"],
            registry=reg,
        )  # fmt: skip
        self.budget_parked_until = Gauge(
            "chronobridge_budget_parked_until_timestamp_seconds",
            "When the park ends (0: not parked)", ["app"], registry=reg,
        )  # fmt: skip
        self.budget_resets_at = Gauge(
            "chronobridge_budget_window_reset_timestamp_seconds",
            "When the current hourly window resets", ["app"], registry=reg,
        )  # fmt: skip
        self.budget_refusals = Counter(
            "chronobridge_budget_refusals", "Reservations refused by the shared budget",
            ["app", "priority"], registry=reg,
        )  # fmt: skip
        self.api_calls = Counter(
            "chronobridge_api_calls", "Calls to DrChrono by HTTP status (0: no answer)",
            ["app", "status", "priority"], registry=reg,
        )  # fmt: skip
        self.token_refreshes = Counter(
            "chronobridge_token_refreshes", "Token refreshes by outcome", ["app", "outcome"],
            registry=reg,
        )  # fmt: skip

        self.budget_read_at: float | None = None  # time.monotonic() of the last store read

    def observe_usage(self, app: str, usage: BudgetUsage) -> None:
        """Set the budget gauges from the store's view of the current window."""
        self.budget_limit.labels(app).set(usage.limit)
        self.budget_used.labels(app).set(usage.used)
        for priority in Priority:
            count = usage.by_priority.get(priority, 0)
            self.budget_used_by_priority.labels(app, priority.value).set(count)
        parked = usage.parked_until
        self.budget_parked.labels(app).set(1 if parked is not None else 0)
        self.budget_parked_until.labels(app).set(_stamp(parked))
        self.budget_resets_at.labels(app).set(_stamp(usage.window_end))

    def call(self, app: str, status: int, priority: Priority) -> None:
        self.api_calls.labels(app, str(status), priority.value).inc()

    def refused(self, app: str, priority: Priority) -> None:
        self.budget_refusals.labels(app, priority.value).inc()

    def refresh(self, app: str, outcome: str) -> None:
        self.token_refreshes.labels(app, outcome).inc()

    def exposition(self) -> str:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry).decode("utf-8")


async def observe_budgets(
    db: Database, metrics: HubMetrics, *, now: datetime, max_age: float = BUDGET_MAX_AGE
) -> None:
    """Set the budget gauges of every application from the store (unless read < max_age ago);
    an application removed since loses its series."""
    read_at = metrics.budget_read_at
    if read_at is not None and time.monotonic() - read_at < max_age:
        return
    usage = await Budget(db).usage_by_app(now=now)
    for gauge in (
        metrics.budget_limit,
        metrics.budget_used,
        metrics.budget_used_by_priority,
        metrics.budget_parked,
        metrics.budget_parked_until,
        metrics.budget_resets_at,
    ):
        gauge.clear()  # fmt: skip
    for app, current in usage.items():
        metrics.observe_usage(app, current)
    metrics.budget_read_at = time.monotonic()


def _stamp(moment: datetime | None) -> float:
    return moment.timestamp() if moment is not None else 0.0
