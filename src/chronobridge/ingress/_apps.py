"""Which application a webhook request belongs to, and its secret (cached in memory).

DrChrono has one webhook per application. The callback URL may name the application
(`/webhooks/drchrono/<client id or app id>`), which is what several applications on one hub
should use; the plain `/webhooks/drchrono` serves every application: a delivery is matched
against each application's secret, and the verification GET answers for the default
application (the environment's client id) or the only one with a webhook secret.

Secrets are read from the store (encrypted there) and kept for `ttl` seconds, so a request
costs no database read; an unknown name in the path triggers one reload before a 404.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from chronobridge.ingress._framing import Rejection
from chronobridge.store import App, Apps, Database

__all__ = ["AppSecret", "WebhookApps"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AppSecret:
    id: int
    client_id: str
    secret: str = field(repr=False)


_FORCED_RELOAD_AFTER = 1.0
Loader = Callable[[], Awaitable[Sequence[App]]]


class WebhookApps:
    """The applications that have a webhook secret, by id and client id."""

    def __init__(
        self,
        db: Database | None = None,
        *,
        default_client_id: str | None = None,
        ttl: float = 5.0,
        loader: Loader | None = None,
    ) -> None:
        if loader is None:
            if db is None:
                raise ValueError("WebhookApps needs a database or a loader")
            loader = Apps(db).list
        self._load = loader
        self._default = default_client_id
        self._ttl = ttl
        self._apps: tuple[AppSecret, ...] = ()
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    async def candidates(self, ref: str | None) -> tuple[AppSecret, ...]:
        """The applications a delivery to this path may come from (404 for an unknown name)."""
        if ref is None:
            return await self._current()
        return (await self.named(ref),)

    async def for_verification(self, ref: str | None) -> AppSecret:
        """The application whose secret answers the handshake on this path."""
        if ref is not None:
            return await self.named(ref)
        apps = await self._current()
        default = next((app for app in apps if app.client_id == self._default), None)
        if default is not None:
            return default
        if len(apps) == 1:
            return apps[0]
        if not apps:
            raise Rejection(404, "no_webhook_secret")
        raise Rejection(409, "several_apps")

    async def named(self, ref: str) -> AppSecret:
        found = _find(await self._current(), ref)
        if found is None:
            found = _find(await self._current(force=True), ref)
        if found is None:
            raise Rejection(404, "unknown_app")
        return found

    async def _current(self, *, force: bool = False) -> tuple[AppSecret, ...]:
        # A forced reload (an unknown name) waits a second after the last one, so requests
        # with made-up names cannot turn into a stream of database reads.
        wait = _FORCED_RELOAD_AFTER if force else self._ttl
        if time.monotonic() - self._loaded_at < wait:
            return self._apps
        async with self._lock:
            if time.monotonic() - self._loaded_at >= wait:
                self._apps = tuple(
                    AppSecret(id=app.id, client_id=app.client_id, secret=app.webhook_secret)
                    for app in await self._load()
                    if app.webhook_secret
                )
                self._loaded_at = time.monotonic()
        return self._apps


def _find(apps: tuple[AppSecret, ...], ref: str) -> AppSecret | None:
    for app in apps:
        if ref == app.client_id or ref == str(app.id):
            return app
    return None
