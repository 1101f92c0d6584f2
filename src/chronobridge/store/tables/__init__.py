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

__all__ = [
    "ENCRYPTED",
    "UtcDateTime",
    "api_calls",
    "apps",
    "audit_head",
    "audit_log",
    "budget_windows",
    "connections",
    "encrypted_column",
    "encrypted_columns",
    "metadata",
    "oauth_states",
    "tokens",
]
