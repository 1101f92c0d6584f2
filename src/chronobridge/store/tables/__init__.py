"""Every table of the hub, on one `metadata`.

Add a feature's tables in a module of this package (e.g. `sync.py`, `inbox.py`) built on
`metadata`, import it here, and add an Alembic revision in `store/migrations/versions/`.
`tests/integration/store/test_migrations.py` fails when the tables and the migrations disagree.
"""

from __future__ import annotations

from chronobridge.store.tables._base import (
    ENCRYPTED,
    UtcDateTime,
    encrypted_column,
    encrypted_columns,
    metadata,
)
from chronobridge.store.tables.hub import (
    api_calls,
    apps,
    audit_head,
    audit_log,
    budget_windows,
    connections,
    oauth_states,
    tokens,
)
from chronobridge.store.tables.iframes import iframe_registrations
from chronobridge.store.tables.inbox import DELIVERY_STATUSES, webhook_deliveries, webhook_refusals
from chronobridge.store.tables.sync import (
    change_events,
    cursors,
    model_rows,
    records,
    staged_pages,
    sync_errors,
    sync_runs,
)
from chronobridge.store.tables.workers import (
    worker_heartbeats,
    worker_probe_attempts,
    worker_probe_marks,
)
from chronobridge.store.tables.writeback import (
    hub_secrets,
    match_keys,
    match_reviews,
    pending_creates,
    writebacks,
)

__all__ = [
    "DELIVERY_STATUSES",
    "ENCRYPTED",
    "UtcDateTime",
    "api_calls",
    "apps",
    "audit_head",
    "audit_log",
    "budget_windows",
    "change_events",
    "connections",
    "cursors",
    "encrypted_column",
    "encrypted_columns",
    "hub_secrets",
    "iframe_registrations",
    "match_keys",
    "match_reviews",
    "metadata",
    "model_rows",
    "oauth_states",
    "pending_creates",
    "records",
    "staged_pages",
    "sync_errors",
    "sync_runs",
    "tokens",
    "webhook_deliveries",
    "webhook_refusals",
    "worker_heartbeats",
    "worker_probe_attempts",
    "worker_probe_marks",
    "writebacks",
]
