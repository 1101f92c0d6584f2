"""Reading the hub's database from outside, as a test looks at what a server or worker process
wrote: a synchronous engine for one query, from the store's (async) URL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def sync_url(url: str) -> str:
    """The same database through a synchronous driver (psycopg serves both ways)."""
    return url.replace("+aiosqlite", "")


def rows(url: str, query: str, **params: Any) -> list[Any]:
    engine = sa.create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(query), params).all())
    finally:
        engine.dispose()


def scalar(url: str, query: str, **params: Any) -> Any:
    found = rows(url, query, **params)
    return found[0][0] if found else None
