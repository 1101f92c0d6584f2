"""Prometheus metrics of the webhook ingress, on the library's default registry (the web layer
serves it at /metrics). Labels are outcomes, reason codes, event names and resource names:
never an id, a body, a secret or anything a patient could be recognised by.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = [
    "ACK_SECONDS",
    "BATCH_SIZE",
    "PROCESSED",
    "RECEIVED",
    "RECONCILED",
    "REJECTED",
]

RECEIVED = Counter(
    "chronobridge_webhook_requests",
    "Webhook POSTs answered 2xx, by outcome (stored, duplicate, ignored, ping)",
    ["outcome"],
)
REJECTED = Counter(
    "chronobridge_webhook_rejected",
    "Webhook requests answered 4xx or 503, by reason; nothing of them is stored",
    ["reason"],
)
ACK_SECONDS = Histogram(
    "chronobridge_webhook_ack_seconds",
    "From the request's arrival to its answer, for deliveries stored or found stored",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
BATCH_SIZE = Histogram(
    "chronobridge_webhook_commit_batch_size",
    "Deliveries committed together by the inbox writer (group commit)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
PROCESSED = Counter(
    "chronobridge_webhook_processed",
    "Inbox deliveries processed, by final status and event",
    ["status", "event"],
)
RECONCILED = Counter(
    "chronobridge_reconcile_changes",
    "Changes found by reconciliation that no webhook had brought, by resource",
    ["resource"],
)
