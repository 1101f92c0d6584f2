"""The hub's queues.

A queue's settings live in the database (DBOS `queues` table), shared by every worker: the
last worker started with a given version writes them. `worker_concurrency` caps what one worker
runs from that queue at once; `partition_concurrency` caps what runs at once, cluster-wide, per
partition key.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dbos import DBOS, DBOSClient

SYNC = "sync"
"""Resource syncs. Partitioned by connection: one sync per connection at a time, cluster-wide."""

WEBHOOKS = "webhooks"
"""Processing of webhook deliveries from the inbox."""

DELIVERIES = "deliveries"
"""Outbound deliveries to destinations (HTTP, Slack, S3, CSV, SMTP)."""


@dataclass(frozen=True, kw_only=True)
class QueueSpec:
    name: str
    worker_concurrency: int | None = None
    partition_concurrency: int | None = None
    global_concurrency: int | None = None

    @property
    def partitioned(self) -> bool:
        return self.partition_concurrency is not None


DEFAULT_QUEUES: tuple[QueueSpec, ...] = (
    QueueSpec(name=SYNC, worker_concurrency=4, partition_concurrency=1),
    QueueSpec(name=WEBHOOKS, worker_concurrency=4),
    QueueSpec(name=DELIVERIES, worker_concurrency=8),
)


def with_concurrency(specs: tuple[QueueSpec, ...], limit: int | None) -> tuple[QueueSpec, ...]:
    """Every queue's per-worker concurrency set to `limit` (None: keep the defaults)."""
    if limit is None:
        return specs
    return tuple(replace(spec, worker_concurrency=limit) for spec in specs)


def register_queues(specs: tuple[QueueSpec, ...], *, polling_interval_sec: float) -> None:
    """Create or update the queues once DBOS is launched (sync; async code uses to_thread)."""
    for spec in specs:
        DBOS.register_queue(
            spec.name,
            worker_concurrency=spec.worker_concurrency,
            partition_concurrency=spec.partition_concurrency,
            global_concurrency=spec.global_concurrency,
            polling_interval_sec=polling_interval_sec,
        )


def create_missing_queues(
    client: DBOSClient, specs: tuple[QueueSpec, ...], polling_interval_sec: float
) -> None:
    """Create queues that do not exist yet, leaving existing ones alone (before launch)."""
    for spec in specs:
        client.register_queue(
            spec.name,
            worker_concurrency=spec.worker_concurrency,
            partition_concurrency=spec.partition_concurrency,
            global_concurrency=spec.global_concurrency,
            polling_interval_sec=polling_interval_sec,
            on_conflict="never_update",
        )
