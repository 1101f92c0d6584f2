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

import functools
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Dialect, make_url

from chronobridge.errors import ConfigError
from chronobridge.store._database import install_sqlite_rules
from chronobridge.store.tables import webhook_deliveries as wd

__all__ = ["NewDelivery", "make_sync_engine", "write_deliveries"]

Key = tuple[int, str]


class NewDelivery(NamedTuple):
    """A verified delivery about to be stored; `payload` is already encrypted. (A named tuple:
    the writer builds one per delivery, and a tuple is the cheapest immutable value.)"""

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
        return {**self._asdict(), "verified": True}


_COLUMNS = (*NewDelivery._fields, "verified")
_AT = NewDelivery._fields.index("received_at")


def write_deliveries(conn: sa.Connection, items: Sequence[NewDelivery]) -> dict[Key, int]:
    """Insert the deliveries not stored yet; count the others as repeats.

    Returns the new rows' ids by (app, delivery id); a key missing from the answer was already
    stored (a redelivery). Runs inside the caller's transaction.
    """
    firsts: dict[Key, NewDelivery] = {}
    for item in items:
        firsts.setdefault((item.app_id, item.delivery_id), item)
    if conn.dialect.name == "sqlite":
        rows = _insert_sqlite(conn, list(firsts.values()))
    else:
        rows = _insert_other(conn, list(firsts.values()))
    created = {(app_id, delivery_id): row_id for row_id, app_id, delivery_id in rows}
    if len(created) < len(items):
        _count_repeats(conn, items, created)
    return created


def _insert_sqlite(conn: sa.Connection, items: list[NewDelivery]) -> list[tuple[int, int, str]]:
    """Straight to the driver: one multi-row INSERT of plain tuples (SQLAlchemy's path builds
    and type-processes a parameter dictionary per row, which costs more than SQLite's insert).
    The timestamp goes through the column type's own conversion, so it is stored exactly as
    SQLAlchemy stores it."""
    to_text = _timestamp_processor(conn.dialect)
    parameters: list[Any] = []
    for item in items:
        parameters.extend((*item[:_AT], to_text(item.received_at), *item[_AT + 1 :], True))
    result = conn.exec_driver_sql(_sqlite_insert_sql(len(items)), tuple(parameters))
    return [(row[0], row[1], row[2]) for row in result]


@functools.cache
def _sqlite_insert_sql(rows: int) -> str:
    one = "(" + ", ".join("?" * len(_COLUMNS)) + ")"
    return (
        f"INSERT INTO {wd.name} ({', '.join(_COLUMNS)}) VALUES {', '.join([one] * rows)} "  # noqa: S608  (our names; values are parameters)
        "ON CONFLICT (app_id, delivery_id) DO NOTHING RETURNING id, app_id, delivery_id"
    )


@functools.cache
def _timestamp_processor(dialect: Dialect) -> Callable[[datetime], Any]:
    process = wd.c.received_at.type.bind_processor(dialect)
    assert process is not None  # UtcDateTime always converts
    return process


def _insert_other(conn: sa.Connection, items: list[NewDelivery]) -> list[tuple[int, int, str]]:
    # One cached statement, many parameter sets: SQLAlchemy sends them as multi-row VALUES
    # ("insertmanyvalues") without compiling a new statement per batch size.
    stmt = (
        _insert(conn)
        .on_conflict_do_nothing(index_elements=["app_id", "delivery_id"])
        .returning(wd.c.id, wd.c.app_id, wd.c.delivery_id)
    )
    result = conn.execute(stmt, [item.values() for item in items])
    return [(row.id, row.app_id, row.delivery_id) for row in result]


def _count_repeats(
    conn: sa.Connection, items: Sequence[NewDelivery], created: dict[Key, int]
) -> None:
    repeats = Counter((item.app_id, item.delivery_id) for item in items)
    for key in created:
        repeats[key] -= 1
    for (app_id, delivery_id), count in repeats.items():
        if count > 0:
            where = sa.and_(wd.c.app_id == app_id, wd.c.delivery_id == delivery_id)
            conn.execute(wd.update().where(where).values(repeats=wd.c.repeats + count))


def _insert(conn: sa.Connection) -> sqlite.Insert | postgresql.Insert:
    if conn.dialect.name == "sqlite":
        return sqlite.insert(wd)
    return postgresql.insert(wd)


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
