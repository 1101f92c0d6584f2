"""Registered DrChrono API applications (client id and secret, redirect URIs, webhook secret,
iframe settings, rate limit). Secrets are encrypted and bound to the app's client id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.catalog import SCOPES
from chronobridge.errors import ConfigError
from chronobridge.settings import Settings
from chronobridge.store._common import join_words, split_words, utcnow
from chronobridge.store._crypto import KeyRing
from chronobridge.store._database import Database
from chronobridge.store.tables import apps

__all__ = ["App", "AppSpec", "Apps"]


@dataclass(frozen=True, kw_only=True)
class AppSpec:
    """What the operator registers: the values from DrChrono's API management page."""

    name: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uris: tuple[str, ...]
    api_version: str = "v4"
    scopes: tuple[str, ...] = SCOPES
    webhook_secret: str | None = field(default=None, repr=False)
    patient_iframe_url: str | None = None
    patient_iframe_height: int | None = None
    clinical_note_iframe_url: str | None = None
    clinical_note_iframe_height: int | None = None
    drchrono_url: str = "https://app.drchrono.com"
    rate_limit: int = 500

    @classmethod
    def from_settings(cls, settings: Settings, *, name: str = "default") -> AppSpec:
        """The default application described by CHRONOBRIDGE_CLIENT_ID and friends."""
        if not settings.client_id or settings.client_secret is None:
            raise ConfigError(
                "The default application needs a client id and secret.",
                hint="Set CHRONOBRIDGE_CLIENT_ID and CHRONOBRIDGE_CLIENT_SECRET.",
            )
        webhook = settings.webhook_secret
        return cls(
            name=name,
            client_id=settings.client_id,
            client_secret=settings.client_secret.get_secret_value(),
            redirect_uris=(settings.redirect_uri,),
            api_version=settings.api_version,
            scopes=settings.scopes,
            webhook_secret=webhook.get_secret_value() if webhook is not None else None,
            drchrono_url=settings.drchrono_url,
        )


@dataclass(frozen=True, kw_only=True)
class App(AppSpec):
    """A registered application as stored, secrets decrypted (and hidden from repr)."""

    id: int
    created_at: datetime
    updated_at: datetime


class Apps:
    """The apps table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self, spec: AppSpec, *, now: datetime | None = None, tx: AsyncConnection | None = None
    ) -> App:
        stamp = utcnow(now)
        values = {**_columns(spec, self._db.keys), "created_at": stamp, "updated_at": stamp}
        try:
            async with self._db.write(tx) as conn:
                row = (await conn.execute(apps.insert().values(values).returning(apps))).one()
        except sa.exc.IntegrityError as exc:
            raise ConfigError(f"An application with client id {spec.client_id} exists.") from exc
        return _app(row._mapping, self._db.keys)

    async def ensure(self, spec: AppSpec, *, now: datetime | None = None) -> App:
        """Create the app, or bring the one with this client id up to `spec` (start-up path)."""
        stamp = utcnow(now)
        values = {**_columns(spec, self._db.keys), "created_at": stamp, "updated_at": stamp}
        insert = self._db.insert(apps).values(values)
        changes = {k: insert.excluded[k] for k in values if k != "created_at"}
        upsert = insert.on_conflict_do_update(index_elements=["client_id"], set_=changes)
        async with self._db.write() as conn:
            row = (await conn.execute(upsert.returning(apps))).one()
        return _app(row._mapping, self._db.keys)

    async def update(self, app_id: int, spec: AppSpec, *, now: datetime | None = None) -> App:
        values = {**_columns(spec, self._db.keys), "updated_at": utcnow(now)}
        stmt = apps.update().where(apps.c.id == app_id).values(values).returning(apps)
        async with self._db.write() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            raise ConfigError(f"No application with id {app_id}.")
        return _app(row._mapping, self._db.keys)

    async def get(self, app_id: int, *, tx: AsyncConnection | None = None) -> App | None:
        return await self._one(apps.c.id == app_id, tx)

    async def by_client_id(self, client_id: str) -> App | None:
        return await self._one(apps.c.client_id == client_id, None)

    async def list(self) -> list[App]:
        async with self._db.read() as conn:
            rows = (await conn.execute(apps.select().order_by(apps.c.id))).all()
        return [_app(row._mapping, self._db.keys) for row in rows]

    async def delete(self, app_id: int) -> bool:
        """Remove the app and, through the foreign keys, its connections, tokens and budget."""
        async with self._db.write() as conn:
            result = await conn.execute(apps.delete().where(apps.c.id == app_id))
        return result.rowcount > 0

    async def _one(self, where: sa.ColumnElement[bool], tx: AsyncConnection | None) -> App | None:
        async with self._db.read(tx) as conn:
            row = (await conn.execute(apps.select().where(where))).first()
        return None if row is None else _app(row._mapping, self._db.keys)


def _context(column: str, client_id: str) -> str:
    return f"apps.{column}:{client_id}"


def _columns(spec: AppSpec, keys: KeyRing) -> dict[str, Any]:
    if spec.rate_limit <= 0:
        raise ConfigError("An application's rate limit must be a positive number of calls.")
    webhook = spec.webhook_secret
    return {
        "name": spec.name,
        "client_id": spec.client_id,
        "client_secret": keys.encrypt(
            spec.client_secret, context=_context("client_secret", spec.client_id)
        ),
        "redirect_uris": list(spec.redirect_uris),
        "api_version": spec.api_version,
        "scopes": join_words(spec.scopes),
        "webhook_secret": None
        if webhook is None
        else keys.encrypt(webhook, context=_context("webhook_secret", spec.client_id)),
        "patient_iframe_url": spec.patient_iframe_url,
        "patient_iframe_height": spec.patient_iframe_height,
        "clinical_note_iframe_url": spec.clinical_note_iframe_url,
        "clinical_note_iframe_height": spec.clinical_note_iframe_height,
        "drchrono_url": spec.drchrono_url,
        "rate_limit": spec.rate_limit,
    }


def _app(row: Any, keys: KeyRing) -> App:
    client_id = row["client_id"]
    webhook = row["webhook_secret"]
    return App(
        id=row["id"],
        name=row["name"],
        client_id=client_id,
        client_secret=keys.decrypt(
            row["client_secret"], context=_context("client_secret", client_id)
        ),
        redirect_uris=tuple(row["redirect_uris"]),
        api_version=row["api_version"],
        scopes=split_words(row["scopes"]),
        webhook_secret=None
        if webhook is None
        else keys.decrypt(webhook, context=_context("webhook_secret", client_id)),
        patient_iframe_url=row["patient_iframe_url"],
        patient_iframe_height=row["patient_iframe_height"],
        clinical_note_iframe_url=row["clinical_note_iframe_url"],
        clinical_note_iframe_height=row["clinical_note_iframe_height"],
        drchrono_url=row["drchrono_url"],
        rate_limit=row["rate_limit"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
