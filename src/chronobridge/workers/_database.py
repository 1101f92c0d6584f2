"""The one database that holds the application's tables and DBOS's system tables.

SQLite: one file; DBOS's tables sit next to ours (see `DBOS_SQLITE_TABLES`: application tables
must not use those names). PostgreSQL: one database; DBOS's tables live in schema `dbos`.
Sharing the database is what lets an application write and a job enqueue commit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from chronobridge.errors import ConfigError

DBOS_SCHEMA = "dbos"

# Created by DBOS in a SQLite file (no schemas there); application tables must avoid them.
DBOS_SQLITE_TABLES = frozenset(
    {
        "application_versions",
        "dbos_migrations",
        "event_dispatch_kv",
        "notifications",
        "operation_outputs",
        "queues",
        "streams",
        "workflow_events",
        "workflow_events_history",
        "workflow_input",
        "workflow_output",
        "workflow_schedules",
        "workflow_status",
    }
)


@dataclass(frozen=True)
class Database:
    """Where the application's data lives, in the forms DBOS and SQLAlchemy each need."""

    url: URL

    @classmethod
    def parse(cls, value: str | Path) -> Database:
        """Accept a SQLite path, `sqlite[+driver]:///path` or `postgresql[+driver]://…`."""
        text = str(value)
        if "://" not in text:
            return cls(URL.create("sqlite", database=str(Path(text).expanduser().resolve())))
        url = make_url(text)
        backend = url.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise ConfigError(
                f"Unsupported database backend {backend!r}: use SQLite or PostgreSQL."
            )
        if backend == "sqlite" and not url.database:
            raise ConfigError("A SQLite database needs a file path (in-memory cannot be shared).")
        return cls(url)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> Path:
        return Path(self.url.database or "")

    @property
    def dbos_url(self) -> str:
        """The URL DBOS and DBOSClient take: `sqlite:///path` or `postgresql://…`."""
        driver = "sqlite" if self.is_sqlite else "postgresql"
        return self.url.set(drivername=driver).render_as_string(hide_password=False)

    @property
    def sync_url(self) -> URL:
        return self.url.set(drivername="sqlite" if self.is_sqlite else "postgresql+psycopg")

    @property
    def async_url(self) -> URL:
        return self.url.set(
            drivername="sqlite+aiosqlite" if self.is_sqlite else "postgresql+psycopg"
        )

    @property
    def display(self) -> str:
        """Safe to print: no password."""
        return self.url.render_as_string(hide_password=True)

    def dbos_settings(self) -> dict[str, Any]:
        """The DBOSConfig / DBOSClient keys that locate the system tables."""
        settings: dict[str, Any] = {"system_database_url": self.dbos_url}
        if not self.is_sqlite:
            settings["dbos_system_schema"] = DBOS_SCHEMA
        return settings

    def create_sync_engine(self) -> sa.Engine:
        """An engine for the worker's own tables (heartbeats, probes)."""
        if self.is_sqlite:
            return sa.create_engine(self.sync_url, connect_args={"timeout": 30})
        return sa.create_engine(self.sync_url, pool_pre_ping=True, pool_size=2, max_overflow=2)

    def prepare(self, engine: sa.Engine) -> None:
        """One-time file settings: WAL lets workers and the web process read while one writes."""
        if self.is_sqlite:
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
