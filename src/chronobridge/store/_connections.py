"""Connections: one DrChrono user (provider or staff) who authorized one app.

No patient data here: the user's id, username, role, the provider they act for, the practice
group and a display name. `connect` is the OAuth callback's write: it inserts the connection or,
when the same DrChrono user authorizes again, updates it and replaces its tokens in the same
transaction, so there is never a second row and never a moment without tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.store._common import ConnectionStatus, Role, join_words, split_words, utcnow
from chronobridge.store._database import Database
from chronobridge.store._tokens import TokenPair, write_tokens
from chronobridge.store.tables import connections, tokens

__all__ = ["Connection", "Connections", "Identity"]


@dataclass(frozen=True, kw_only=True)
class Identity:
    """Who authorized, from DrChrono's /api/users/current (and /api/doctors for staff)."""

    drchrono_user_id: int
    username: str
    role: Role
    doctor_id: int  # their own id for a provider; the provider they work for, for staff
    practice_group: int | None = None
    display_name: str = ""


@dataclass(frozen=True, kw_only=True)
class Connection(Identity):
    id: int
    app_id: int
    status: ConnectionStatus
    scopes: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None


class Connections:
    """The connections table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def connect(
        self,
        app_id: int,
        identity: Identity,
        pair: TokenPair,
        *,
        scopes: tuple[str, ...],
        now: datetime | None = None,
    ) -> Connection:
        """Insert or re-activate the connection and store its tokens, atomically."""
        stamp = utcnow(now)
        async with self._db.write() as conn:
            row = (await conn.execute(self._upsert(app_id, identity, scopes, stamp))).one()
            await write_tokens(conn, self._db, row.id, pair, now=stamp)
        return _connection(row._mapping)

    async def get(
        self, connection_id: int, *, tx: AsyncConnection | None = None
    ) -> Connection | None:
        return await self._one(connections.c.id == connection_id, tx)

    async def find(self, app_id: int, drchrono_user_id: int) -> Connection | None:
        where = sa.and_(
            connections.c.app_id == app_id, connections.c.drchrono_user_id == drchrono_user_id
        )
        return await self._one(where, None)

    async def list(
        self,
        *,
        app_id: int | None = None,
        status: ConnectionStatus | None = None,
        doctor_id: int | None = None,
    ) -> list[Connection]:
        stmt = connections.select().order_by(connections.c.id)
        if app_id is not None:
            stmt = stmt.where(connections.c.app_id == app_id)
        if status is not None:
            stmt = stmt.where(connections.c.status == status.value)
        if doctor_id is not None:
            stmt = stmt.where(connections.c.doctor_id == doctor_id)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [_connection(row._mapping) for row in rows]

    async def set_status(
        self,
        connection_id: int,
        status: ConnectionStatus,
        *,
        now: datetime | None = None,
        tx: AsyncConnection | None = None,
    ) -> None:
        """Change the status; leaving `active` also deletes the tokens (they must not be used)."""
        stamp = utcnow(now)
        async with self._db.write(tx) as conn:
            if status is not ConnectionStatus.ACTIVE:
                await conn.execute(tokens.delete().where(tokens.c.connection_id == connection_id))
            await conn.execute(
                connections.update()
                .where(connections.c.id == connection_id)
                .values(status=status.value, updated_at=stamp)
            )

    async def deauthorize_provider(
        self, app_id: int, doctor_id: int, *, now: datetime | None = None
    ) -> int:
        """A provider removed the app: DrChrono removes it for their staff too. Returns count."""
        mine = sa.and_(connections.c.app_id == app_id, connections.c.doctor_id == doctor_id)
        ids = sa.select(connections.c.id).where(mine).scalar_subquery()
        async with self._db.write() as conn:
            await conn.execute(tokens.delete().where(tokens.c.connection_id.in_(ids)))
            result = await conn.execute(
                connections.update()
                .where(mine)
                .values(status=ConnectionStatus.DEAUTHORIZED.value, updated_at=utcnow(now))
            )
        return result.rowcount

    async def touch(self, connection_id: int, *, now: datetime | None = None) -> None:
        """Record that the connection was just used (shown in the admin UI)."""
        stmt = (
            connections.update()
            .where(connections.c.id == connection_id)
            .values(last_used_at=utcnow(now))
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def delete(self, connection_id: int) -> bool:
        """Forget the connection and its tokens (after revoking them at DrChrono)."""
        async with self._db.write() as conn:
            result = await conn.execute(
                connections.delete().where(connections.c.id == connection_id)
            )
        return result.rowcount > 0

    def _upsert(
        self, app_id: int, identity: Identity, scopes: tuple[str, ...], stamp: datetime
    ) -> Any:
        values = {
            "app_id": app_id,
            "drchrono_user_id": identity.drchrono_user_id,
            "username": identity.username,
            "role": identity.role.value,
            "doctor_id": identity.doctor_id,
            "practice_group": identity.practice_group,
            "display_name": identity.display_name,
            "status": ConnectionStatus.ACTIVE.value,
            "scopes": join_words(scopes),
            "created_at": stamp,
            "updated_at": stamp,
        }
        insert = self._db.insert(connections).values(values)
        keep = {"app_id", "drchrono_user_id", "created_at"}
        changes = {k: insert.excluded[k] for k in values if k not in keep}
        return insert.on_conflict_do_update(
            index_elements=["app_id", "drchrono_user_id"], set_=changes
        ).returning(connections)

    async def _one(
        self, where: sa.ColumnElement[bool], tx: AsyncConnection | None
    ) -> Connection | None:
        async with self._db.read(tx) as conn:
            row = (await conn.execute(connections.select().where(where))).first()
        return None if row is None else _connection(row._mapping)


def _connection(row: Any) -> Connection:
    return Connection(
        id=row["id"],
        app_id=row["app_id"],
        drchrono_user_id=row["drchrono_user_id"],
        username=row["username"],
        role=Role(row["role"]),
        doctor_id=row["doctor_id"],
        practice_group=row["practice_group"],
        display_name=row["display_name"],
        status=ConnectionStatus(row["status"]),
        scopes=split_words(row["scopes"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_used_at=row["last_used_at"],
    )
