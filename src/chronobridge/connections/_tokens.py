"""The client's `TokenSource` for one connection: stored tokens, refreshed ahead of expiry, one
refresh at a time in the whole deployment.

Single flight has three layers (reliability OA-6, OA-8, OA-9):

1. in the process, an asyncio lock per connection: 50 coroutines that meet a 401 together wait
   for the first, then find the new token in memory;
2. across processes, the store's refresh lock (`Tokens.begin_refresh`: the token row FOR UPDATE
   on PostgreSQL, the write lock on SQLite);
3. under that lock, a generation check: a token other than the one that failed means another
   process already refreshed, and that token is used instead.

DrChrono rotates the refresh token and the emulator revokes the whole family when a rotated one
comes back, so the new pair is saved in the locked transaction. `invalid_grant` re-reads the
stored token (OA-8); if nothing newer is there, the tokens are dropped, the connection is marked
`needs_reconnect` (its jobs refuse to run), one audit row is written and `NeedsReconnect` raised:
never a retry. A token is refreshed ahead of time once less than 10 % of its lifetime is left.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from chronobridge.client import CallObserver
from chronobridge.connections._budget import SharedBudget
from chronobridge.connections._endpoint import TokenEndpoint
from chronobridge.connections._observer import Deferred
from chronobridge.connections._services import Services
from chronobridge.connections._status import gone
from chronobridge.domain.budget import Priority
from chronobridge.errors import InvalidGrant, NeedsReconnect, RateLimited
from chronobridge.store import (
    App,
    AuditEntry,
    AuditLog,
    Connection,
    Connections,
    StoredTokens,
    Tokens,
)

__all__ = ["REFRESH_SHARE", "ConnectionTokens", "gone"]

REFRESH_SHARE = 0.10  # refresh once less than this share of the token's lifetime is left


class ConnectionTokens:
    """The access token of one connection, as the client asks for it."""

    def __init__(
        self,
        services: Services,
        app: App,
        connection: Connection,
        *,
        observer: CallObserver | None = None,
    ) -> None:
        self._services = services
        self._app = app
        self._connection = connection
        self._observer = observer
        self._lock = asyncio.Lock()
        self._current: StoredTokens | None = None
        self._loaded_at = 0.0  # time.monotonic() of the last read of the stored row
        self._endpoint = TokenEndpoint(services, app)
        self._budget = SharedBudget(services, app_id=app.id, app_name=app.name,
                                    limit=app.rate_limit)  # fmt: skip
        self._tokens = Tokens(services.db)

    @property
    def connection_id(self) -> int:
        return self._connection.id

    async def access_token(self) -> str:
        """The stored token, read again at least every `Services.token_recheck` seconds: a
        token deauthorized by another process is gone from the store, and is not sent again."""
        current = self._current
        if current is None or time.monotonic() - self._loaded_at >= self._services.token_recheck:
            current = await self._load()
        if self.due(current):
            return await self._refresh_unless_replaced(current.access_token)
        return current.access_token

    async def refreshed(self, stale_token: str) -> str:
        return await self._refresh_unless_replaced(stale_token)

    async def rejected(self, fresh_token: str) -> NeedsReconnect:
        """OA-9: DrChrono refused a token right after it was refreshed (or after another
        process replaced it): the grant is dead. Drop the tokens, flag the connection, audit;
        no further refresh is tried for this connection until it is authorized again."""
        async with self._lock:
            stored = await self._tokens.get(self.connection_id)
            if stored is not None and stored.access_token != fresh_token:
                return await self._gone()  # superseded meanwhile (a reconnect): not ours to end
            await self._tokens.mark_needs_reconnect(self.connection_id, now=self._services.now())
            self._current = None
        return await self._lost(
            "DrChrono refused the access token again after a refresh", outcome="rejected"
        )

    def due(self, tokens: StoredTokens) -> bool:
        """Less than REFRESH_SHARE of the lifetime left (the lifetime runs from the save)."""
        lifetime = max(tokens.expires_at - tokens.updated_at, timedelta(0))
        return tokens.expires_within(lifetime * REFRESH_SHARE, now=self._services.now())

    def forget(self) -> None:
        """Drop the token kept in memory (after a deauthorization in this process)."""
        self._current = None

    # --- single flight -----------------------------------------------------------------------

    async def _refresh_unless_replaced(self, stale: str) -> str:
        async with self._lock:
            if self._current is not None and self._current.access_token != stale:
                return self._current.access_token  # a coroutine of ours refreshed meanwhile
            stored = await self._load()
            if stored.access_token != stale:
                return stored.access_token  # another process refreshed, or a reconnect
            return await self._refresh(stale)

    async def _refresh(self, stale: str) -> str:
        # Reserve before the lock: on SQLite the lock is the write lock the budget needs too.
        await self._budget.reserve(Priority.INTERACTIVE)
        deferred = Deferred()
        try:
            token = await self._locked_refresh(stale, deferred)
        except RateLimited as limited:
            now = self._services.now()
            await self._budget.park(now + timedelta(seconds=limited.retry_after))
            raise
        finally:
            await deferred.flush(self._observer)
        if token is None:
            raise await self._lost("DrChrono answered invalid_grant to the refresh token")
        self._services.metrics.refresh(self._app.name, "refreshed")
        return token

    async def _locked_refresh(self, stale: str, deferred: Deferred) -> str | None:
        try:
            async with self._tokens.begin_refresh(self.connection_id) as handle:
                if handle.current.access_token != stale:
                    self._keep(handle.current)
                    return handle.current.access_token
                try:
                    grant = await self._endpoint.refresh(
                        handle.current.refresh_token, observer=deferred
                    )
                except InvalidGrant:
                    fresh = await self._tokens.get(self.connection_id)  # OA-8: re-read first
                    if fresh is not None and fresh.generation != handle.generation:
                        self._keep(fresh)
                        return fresh.access_token
                    await handle.needs_reconnect(now=self._services.now())
                    self._current = None
                    return None
                saved = self._keep(await handle.complete(grant.pair, now=self._services.now()))
                return saved.access_token
        except NeedsReconnect:
            raise await self._gone() from None

    # --- the stored side ---------------------------------------------------------------------

    async def _load(self) -> StoredTokens:
        stored = await self._tokens.get(self.connection_id)
        if stored is None:
            self._current = None
            raise await self._gone()
        return self._keep(stored)

    def _keep(self, stored: StoredTokens) -> StoredTokens:
        self._current, self._loaded_at = stored, time.monotonic()
        return stored

    async def _lost(self, reason: str, *, outcome: str = "invalid_grant") -> NeedsReconnect:
        """The grant is dead: one audit row (after the lock: SQLite has one writer), then the
        error."""
        self._services.metrics.refresh(self._app.name, outcome)
        await AuditLog(self._services.db).append(
            AuditEntry(
                actor="hub:tokens",
                action="connection.needs_reconnect",
                target_type="connection",
                target_id=str(self.connection_id),
                reason=reason,
                details={
                    "app_id": self._app.id,
                    "drchrono_user_id": self._connection.drchrono_user_id,
                },
            ),
            now=self._services.now(),
        )
        return await self._gone()

    async def _gone(self) -> NeedsReconnect:
        found = await Connections(self._services.db).get(self.connection_id)
        return gone(found or self._connection, exists=found is not None)
