"""The hub opened on its settings: database, key ring, connection services, apps and clients.

Settings (CHRONOBRIDGE_*) → the database and its key ring → the connection services (clock,
budget wait policy, metrics, HTTP transport) → repositories and a client per connection with
the store-backed ports. The CLI and, later, the web app and the workers start here:

    async with Hub.open(Settings()) as hub:
        app = await hub.app()                          # the default app from the environment
        connection = await hub.connection()            # the only active one, or a provider's
        async with await hub.client(connection) as client:
            ...

`CHRONOBRIDGE_CLOCK_OFFSET` (seconds, may be negative) moves the hub's clock: tests and demos
use it to stay in step with an emulator whose clock they moved. Never set it in production.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import fields, replace
from datetime import timedelta

import httpx2
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from chronobridge.client import DrChronoClient
from chronobridge.connections import (
    ENVIRONMENT_APP,
    Clock,
    Deauthorization,
    DirectoryEntry,
    Services,
    Sleep,
    WaitPolicy,
    app_directory,
    choose_app,
    choose_connection,
    deauthorize,
    from_environment,
    offset_clock,
    open_client,
    remove_app,
    update_app,
)
from chronobridge.domain.budget import Priority
from chronobridge.errors import ConfigError
from chronobridge.settings import Settings
from chronobridge.store import (
    App,
    Apps,
    AppSpec,
    Budget,
    BudgetUsage,
    Connection,
    Connections,
    Database,
    KeyFile,
    RotationReport,
    load_keyring,
    open_database,
    reencrypt_all,
)
from chronobridge.wiring._cleanup_jobs import JobsCleanupQueue

__all__ = [
    "CLOCK_OFFSET_ENV",
    "DEFAULT_APP",
    "Hub",
    "clock_offset",
    "environment_client_id",
    "load_settings",
]

_log = logging.getLogger("chronobridge.wiring")
CLOCK_OFFSET_ENV = "CHRONOBRIDGE_CLOCK_OFFSET"
DEFAULT_APP = ENVIRONMENT_APP
# What the operator may change with `apps add` that the environment does not describe.
_KEPT_FROM_STORE = (
    "name",
    "rate_limit",
    "patient_iframe_url",
    "patient_iframe_height",
    "clinical_note_iframe_url",
    "clinical_note_iframe_height",
)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment (and `overrides`); a bad value is a ConfigError naming the
    variable, never repeating its value (it may be a secret)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"CHRONOBRIDGE_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        raise ConfigError(
            f"A setting is not valid ({problems})",
            hint="Fix the environment variable named, then run the command again.",
        ) from None


async def _open_database(settings: Settings) -> Database:
    try:
        return await open_database(settings, keys=load_keyring(settings))
    except (DBAPIError, OSError) as exc:
        raise ConfigError(
            f"The hub's database could not be opened ({type(exc).__name__})",
            hint="Check CHRONOBRIDGE_DATABASE_URL (or CHRONOBRIDGE_HOME) and that the database "
            "server is running.",
        ) from None


def clock_offset(environ: Mapping[str, str] = os.environ) -> timedelta:
    raw = environ.get(CLOCK_OFFSET_ENV, "").strip()
    if not raw:
        return timedelta(0)
    try:
        return timedelta(seconds=float(raw))
    except ValueError:
        raise ConfigError(
            f"{CLOCK_OFFSET_ENV} must be a number of seconds",
            hint=f"Unset {CLOCK_OFFSET_ENV}; only tests and demos move the hub's clock.",
        ) from None


class Hub:
    """One open hub: settings, database, connection services."""

    def __init__(self, settings: Settings, db: Database, services: Services) -> None:
        self.settings = settings
        self.db = db
        self.services = services

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        settings: Settings | None = None,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        policy: WaitPolicy | None = None,
    ) -> AsyncIterator[Hub]:
        settings = settings or load_settings()
        db = await _open_database(settings)
        services = Services(
            db=db,
            clock=clock or offset_clock(clock_offset()),
            transport=transport,
            policy=policy or WaitPolicy(),
            sleep=sleep or asyncio.sleep,
            environment_client_id=environment_client_id(settings),
        )
        try:
            yield cls(settings, db, services)
        finally:
            await db.close()

    # --- applications ------------------------------------------------------------------------

    async def default_app(self) -> App | None:
        """The application the environment describes, registered or brought up to date."""
        if not self.settings.client_id or self.settings.client_secret is None:
            return None
        spec = AppSpec.from_settings(self.settings, name=DEFAULT_APP)
        apps = Apps(self.db)
        existing = await apps.by_client_id(spec.client_id) or _named(await apps.list(), DEFAULT_APP)
        if existing is None:
            return await apps.ensure(spec, now=self.services.now())
        kept = {name: getattr(existing, name) for name in _kept_from_store(self.settings)}
        wanted = replace(spec, **kept)
        if _same_spec(existing, wanted):
            return existing
        return await apps.update(existing.id, wanted, now=self.services.now())

    async def app(self, name: str | None = None) -> App:
        default = await self.default_app()
        return choose_app(await Apps(self.db).list(), name, default=default)

    async def add_app(self, spec: AppSpec) -> App:
        apps = Apps(self.db)
        existing = await apps.by_client_id(spec.client_id)
        if existing is not None:
            raise ConfigError(
                f"An application with client id {spec.client_id} exists ({existing.name!r})",
                hint=_change_instead(self.services, existing),
            )
        return await apps.create(spec, now=self.services.now())

    async def update_app(self, app: App, *, actor: str, **changes: object) -> App:
        """Change a registered application's settings (AppSpec field names; None: unchanged)."""
        return await update_app(self.services, app, actor=actor, **changes)

    async def remove_app(self, app: App, *, actor: str, deauthorize_all: bool = False) -> int:
        """Delete the application and everything stored for it; returns its connection count."""
        if not deauthorize_all:
            return len(await remove_app(self.services, app, actor=actor))
        queue = JobsCleanupQueue(self.settings, self.db.keys)
        try:
            await queue.prepare()
            found = await remove_app(
                self.services, app, actor=actor, deauthorize_all=True, queue=queue
            )
        finally:
            queue.close()
        return len(found)

    async def apps(self) -> list[App]:
        await self.default_app()
        return await Apps(self.db).list()

    # --- connections -------------------------------------------------------------------------

    async def connection(self, name: str | None = None, *, app: str | None = None) -> Connection:
        """A connection by username or id; with neither, the only active one or a provider's."""
        if app is None and name is not None:
            await self.default_app()
            return choose_connection(await Connections(self.db).list(), name)
        chosen = await self.app(app)
        return choose_connection(await Connections(self.db).list(app_id=chosen.id), name)

    async def client(
        self, connection: Connection | int, *, priority: Priority = Priority.INTERACTIVE
    ) -> DrChronoClient:
        return await open_client(self.services, connection, priority=priority)

    async def directory(self, app: str | None = None) -> list[DirectoryEntry]:
        app_id = (await self.app(app)).id if app else None
        return await app_directory(self.services, app_id=app_id)

    async def deauthorize(
        self, connection: Connection, *, actor: str, reason: str | None = None
    ) -> Deauthorization:
        """DrChrono's semantics; what DrChrono does not confirm at once is left to a worker
        job that retries it (held in the deauthorization's own transaction)."""
        queue = JobsCleanupQueue(self.settings, self.db.keys)
        try:
            try:
                await queue.prepare()
            except Exception as exc:  # the deauthorization itself must never wait for the jobs
                _log.warning("No retry job for this deauthorization (%s)", type(exc).__name__)
                return await deauthorize(self.services, connection.id, actor=actor, reason=reason)
            return await deauthorize(
                self.services, connection.id, actor=actor, reason=reason, queue=queue
            )
        finally:
            queue.close()

    # --- budget and keys ---------------------------------------------------------------------

    async def budget(self) -> list[tuple[App, BudgetUsage]]:
        """Each application's current window; the metrics are set from it on the way."""
        report = []
        for app in await self.apps():
            usage = await Budget(self.db).usage(app.id, now=self.services.now())
            self.services.metrics.observe_usage(app.name, usage)
            report.append((app, usage))
        return report

    async def rotate_keys(self, *, retire: bool = True) -> RotationReport:
        """Re-encrypt every stored secret under a new key (docs/store.md, key rotation).

        With the key file: a new key goes in front, every value is re-encrypted, and the old
        keys are dropped unless `retire` is False. With CHRONOBRIDGE_ENCRYPTION_KEYS the
        operator puts the new key first in the variable; this re-encrypts under it.
        """
        if self.settings.encryption_keys is not None:
            return await reencrypt_all(self.db)
        key_file = KeyFile(self.settings.key_file)
        rotated = Database(self.db.engine, key_file.add_new_key())
        report = await reencrypt_all(rotated)
        self.db.keys = rotated.keys if not retire else key_file.retire_old_keys()
        return report


def environment_client_id(settings: Settings) -> str | None:
    """The client id of the application the environment describes, if it describes one."""
    if settings.client_id and settings.client_secret is not None:
        return settings.client_id
    return None


def _change_instead(services: Services, existing: App) -> str:
    if from_environment(services, existing):
        return (
            "It is the application CHRONOBRIDGE_CLIENT_ID describes: change its settings in "
            "the environment (chronobridge apps update changes its name, limit and iframes)."
        )
    return (
        f"Change its settings with chronobridge apps update {existing.name} (e.g. "
        "--client-secret), or remove it first: chronobridge apps remove "
        f"{existing.name}."
    )


def _kept_from_store(settings: Settings) -> tuple[str, ...]:
    """A webhook secret made by `webhooks setup` stays when the environment names none."""
    if settings.webhook_secret is None:
        return (*_KEPT_FROM_STORE, "webhook_secret")
    return _KEPT_FROM_STORE


def _named(apps: list[App], name: str) -> App | None:
    return next((app for app in apps if app.name == name), None)


def _same_spec(existing: App, wanted: AppSpec) -> bool:
    return all(getattr(existing, f.name) == getattr(wanted, f.name) for f in fields(AppSpec))
