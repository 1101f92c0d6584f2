"""What a deauthorization leaves to do at DrChrono, and doing it: remove the provider group's
iframe registration, then revoke the tokens (reliability OA-11).

The local side of a deauthorization is one transaction (`_deauthorize.py`); this side needs
DrChrono, which may be down. So the work is a value (`Cleanup`) that the deauthorization first
hands to a durable queue inside its transaction (`CleanupQueue.hold`: a worker job that starts
later), then tries at once; when everything is confirmed the queued job is dropped
(`CleanupQueue.settle`), otherwise the job retries with backoff. Doing it twice is harmless:
DrChrono answers 200 to the revocation of a token it no longer knows (RFC 7009), and the iframe
step is skipped once the hub's mirror says the registration is gone.

The iframe needs a provider's token: for a provider's deauthorization their own, held in memory
and revoked only after the removal (or once the retries give up); for a staff member's, the
provider's connection, which stays active.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.client import DrChronoClient
from chronobridge.connections._clients import app_of, open_client, user_client
from chronobridge.connections._endpoint import TokenEndpoint
from chronobridge.connections._observer import ApiLogObserver
from chronobridge.connections._services import Services
from chronobridge.errors import HubError
from chronobridge.store import App, AuditEntry, AuditLog, IframeRegistrations

__all__ = [
    "Cleanup",
    "CleanupOutcome",
    "CleanupQueue",
    "HeldToken",
    "IframeRemoval",
    "audit_unconfirmed",
    "finish_cleanup",
]


@dataclass(frozen=True, kw_only=True)
class HeldToken:
    """A token of a deauthorized connection, to revoke at DrChrono."""

    connection_id: int
    value: str = field(repr=False)
    hint: str  # "refresh_token" or "access_token" (RFC 7009 token_type_hint)


@dataclass(frozen=True, kw_only=True)
class IframeRemoval:
    """DELETE /api/iframe_integration for `doctor_id`, as that provider: with their held access
    token (the provider left), or through their connection (one of their staff left)."""

    doctor_id: int
    access_token: str | None = field(default=None, repr=False)
    connection_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class Cleanup:
    """What is left to do at DrChrono for one deauthorization (`key`: unique per one)."""

    key: str
    app_id: int
    target_id: int
    iframe: IframeRemoval | None
    tokens: tuple[HeldToken, ...]

    @property
    def empty(self) -> bool:
        return self.iframe is None and not self.tokens

    def as_json(self) -> dict[str, Any]:
        """For a job's input (stored encrypted by the workers)."""
        iframe = None if self.iframe is None else vars(self.iframe).copy()
        return {"key": self.key, "app_id": self.app_id, "target_id": self.target_id,
                "iframe": iframe, "tokens": [vars(t).copy() for t in self.tokens]}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cleanup:
        iframe = data.get("iframe")
        return cls(
            key=str(data["key"]),
            app_id=int(data["app_id"]),
            target_id=int(data["target_id"]),
            iframe=None if iframe is None else IframeRemoval(**iframe),
            tokens=tuple(HeldToken(**t) for t in data.get("tokens", ())),
        )


class CleanupQueue(Protocol):
    """Durable retries of a deauthorization's DrChrono side (a worker job, composed by wiring)."""

    async def hold(self, tx: AsyncConnection, cleanup: Cleanup) -> None:
        """Inside the deauthorization's transaction: the job that finishes `cleanup` later."""
        ...

    async def settle(self, cleanup: Cleanup) -> None:
        """Everything was confirmed at once: the held job has nothing left to do."""
        ...


@dataclass(frozen=True, kw_only=True)
class CleanupOutcome:
    revoked: int
    iframe_removed: bool
    left: Cleanup  # what DrChrono did not confirm (empty when all is done)


async def finish_cleanup(services: Services, cleanup: Cleanup) -> CleanupOutcome:
    """Do what DrChrono can confirm now; return what is left."""
    app = await app_of(services, cleanup.app_id)
    iframe_left, removed = await _remove_iframe(services, app, cleanup.iframe)
    # A provider's own token stays until the iframe is gone: it is the one that can remove it.
    holder = cleanup.target_id if iframe_left is not None and iframe_left.access_token else None
    due = [t for t in cleanup.tokens if t.connection_id != holder]
    failed = await _revoke(services, app, due)
    kept = tuple(t for t in cleanup.tokens if t.connection_id == holder)
    left = replace(cleanup, iframe=iframe_left, tokens=(*kept, *failed))
    return CleanupOutcome(revoked=len(due) - len(failed), iframe_removed=removed, left=left)


async def _remove_iframe(
    services: Services, app: App, iframe: IframeRemoval | None
) -> tuple[IframeRemoval | None, bool]:
    """(what is left, whether DrChrono confirmed the removal now)."""
    if iframe is None:
        return None, False
    mirror = IframeRegistrations(services.db)
    if not any(r.doctor_id == iframe.doctor_id for r in await mirror.list(app_id=app.id)):
        return None, False  # removed meanwhile (an earlier attempt, or the provider did)
    try:
        async with await _provider_client(services, app, iframe) as client:
            await client.call("iframe_integration_delete")
    except HubError:
        return iframe, False
    await mirror.remove(app.id, iframe.doctor_id)
    return None, True


async def _provider_client(services: Services, app: App, iframe: IframeRemoval) -> DrChronoClient:
    if iframe.access_token is not None:
        return user_client(services, app, iframe.access_token)
    assert iframe.connection_id is not None
    return await open_client(services, iframe.connection_id)


async def _revoke(services: Services, app: App, due: list[HeldToken]) -> list[HeldToken]:
    """Revocations are not reserved from the budget: they must go out even in a spent hour."""
    endpoint = TokenEndpoint(services, app)
    failed = []
    for token in due:
        observer = ApiLogObserver(
            services, app_id=app.id, app_name=app.name, connection_id=token.connection_id
        )
        try:
            await endpoint.revoke(token.value, hint=token.hint, observer=observer)
        except HubError:
            failed.append(token)
    return failed


async def audit_unconfirmed(
    services: Services, cleanup: Cleanup, *, actor: str, final: bool = False
) -> None:
    """One audit row for what DrChrono did not confirm (`final`: the retries gave up)."""
    action = "connection.cleanup_abandoned" if final else "connection.revoke_failed"
    reason = (
        "DrChrono never confirmed; the tokens were deleted here"
        if final
        else "DrChrono did not confirm; the tokens were deleted here and a worker retries"
    )
    await AuditLog(services.db).append(
        AuditEntry(
            actor=actor,
            action=action,
            target_type="connection",
            target_id=str(cleanup.target_id),
            reason=reason,
            details={"tokens": len(cleanup.tokens), "iframe": cleanup.iframe is not None},
        ),
        now=services.now(),
    )
