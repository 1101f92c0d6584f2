"""Writing new webhook deliveries: the ingress's hot path.

The ingress commits many deliveries in one transaction (group commit) and enqueues each new
one's job in that same transaction (DBOS's tables live in the same database). DBOS's enqueue is
synchronous SQLAlchemy, and a batch is a few dozen statements, so the writer runs the whole
transaction on a *sync* connection in one dedicated thread: one thread hop per batch instead of
one per statement. `make_sync_engine` gives that connection the store's rules: on SQLite WAL,
`synchronous=FULL` (a committed delivery survives power loss) and `BEGIN IMMEDIATE`; on
PostgreSQL short connect and lock timeouts, so an unavailable database turns into a quick 503.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url

from chronobridge.errors import ConfigError
from chronobridge.store._database import install_sqlite_rules
from chronobridge.store.tables import webhook_deliveries as wd

__all__ = ["NewDelivery", "make_sync_engine", "write_deliveries"]

Key = tuple[int, str]


@dataclass(frozen=True, kw_only=True)
class NewDelivery:
    """A verified delivery about to be stored; `payload` is already encrypted."""

    app_id: int
    delivery_id: str
    event: str
    received_at: datetime
    signature_mode: str
    payload: str
    payload_bytes: int
    object_id: str | None
    resource: str | None
    status: str
    workflow_id: str | None = None

    @property
    def key(self) -> Key:
        return (self.app_id, self.delivery_id)

    def values(self) -> dict[str, Any]:
        return {
            "app_id": self.app_id,
            "delivery_id": self.delivery_id,
            "event": self.event,
            "received_at": self.received_at,
            "verified": True,
            "signature_mode": self.signature_mode,
            "payload": self.payload,
            "payload_bytes": self.payload_bytes,
            "object_id": self.object_id,
            "resource": self.resource,
            "status": self.status,
            "workflow_id": self.workflow_id,
        }


def write_deliveries(conn: sa.Connection, items: Sequence[NewDelivery]) -> dict[Key, int]:
    """Insert the deliveries not stored yet; count the others as repeats.

    Returns the new rows' ids by (app, delivery id); a key missing from the answer was already
    stored (a redelivery). Runs inside the caller's transaction.
    """
    firsts: dict[Key, NewDelivery] = {}
    for item in items:
        firsts.setdefault(item.key, item)
    # One cached statement, many parameter sets: SQLAlchemy sends them as multi-row VALUES
    # ("insertmanyvalues") without compiling a new statement per batch size.
    stmt = (
        _insert(conn)
        .on_conflict_do_nothing(index_elements=["app_id", "delivery_id"])
        .returning(wd.c.id, wd.c.app_id, wd.c.delivery_id)
    )
    rows = conn.execute(stmt, [item.values() for item in firsts.values()])
    created = {(row.app_id, row.delivery_id): row.id for row in rows}
    repeats = Counter(item.key for item in items)
    for key in created:
        repeats[key] -= 1
    for (app_id, delivery_id), count in repeats.items():
        if count > 0:
            conn.execute(_count_repeats(app_id, delivery_id, count))
    return created


def _insert(conn: sa.Connection) -> sqlite.Insert | postgresql.Insert:
    if conn.dialect.name == "sqlite":
        return sqlite.insert(wd)
    return postgresql.insert(wd)


def _count_repeats(app_id: int, delivery_id: str, count: int) -> sa.Update:
    where = sa.and_(wd.c.app_id == app_id, wd.c.delivery_id == delivery_id)
    return wd.update().where(where).values(repeats=wd.c.repeats + count)


def make_sync_engine(
    url: str | URL, *, busy_timeout: float = 1.5, connect_timeout: float = 1.5
) -> sa.Engine:
    """A sync engine on the hub's database for the ingress writer (see the module docstring)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = sa.create_engine(
            parsed.set(drivername="sqlite"),
            connect_args={"timeout": busy_timeout, "check_same_thread": False},
            hide_parameters=True,
        )
        install_sqlite_rules(engine, busy_ms=int(busy_timeout * 1000))
        return engine
    if backend == "postgresql":
        lock_ms = int(busy_timeout * 1000)
        options = f"-c lock_timeout={lock_ms} -c statement_timeout={lock_ms * 2}"
        return sa.create_engine(
            parsed.set(drivername="postgresql+psycopg"),
            pool_pre_ping=True,
            pool_size=2,
            max_overflow=2,
            pool_timeout=connect_timeout,
            connect_args={"connect_timeout": max(int(connect_timeout), 1), "options": options},
            hide_parameters=True,
        )
    raise ConfigError(f"Unsupported database {backend!r}: use sqlite or postgresql.")
