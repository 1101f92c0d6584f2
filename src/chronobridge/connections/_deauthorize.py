"""Deauthorization with DrChrono's semantics (DESIGN §1, facts §1, reliability OA-11).

A provider's deauthorization removes the application for the provider and for every staff
member working for them; a staff member's removes only their own connection. Either removes the
provider group's iframe registration, as DrChrono does. Locally, in one transaction: the tokens
are deleted, the connections marked `deauthorized` (their jobs refuse to run), an audit row
written and, given a `CleanupQueue`, a delayed worker job that will finish the DrChrono side.
Then that side is tried at once (`_cleanup.py`): the iframe registration deleted with a
provider's token (`DELETE /api/iframe_integration`), both tokens of every connection revoked at
/o/revoke_token/. What DrChrono confirms needs no job; what it does not is audited and left to
the job, which retries with backoff.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.connections._cleanup import (
    Cleanup,
    CleanupQueue,
    HeldToken,
    IframeRemoval,
    audit_unconfirmed,
    finish_cleanup,
)
from chronobridge.connections._clients import app_of
from chronobridge.connections._services import Services
from chronobridge.errors import ConfigError
from chronobridge.store import (
    App,
    AuditEntry,
    AuditLog,
    Connection,
    Connections,
    ConnectionStatus,
    IframeRegistrations,
    Role,
    StoredTokens,
    Tokens,
)

__all__ = ["Deauthorization", "deauthorize"]


@dataclass(frozen=True, kw_only=True)
class Deauthorization:
    """What a deauthorization did. `removed` starts with the connection asked for.

    `iframe_left`: the provider group's iframe registration is still at DrChrono as far as the
    hub knows (DrChrono did not confirm its removal, or no provider token can ask for it);
    `retrying`: a worker job holds what DrChrono did not confirm and retries it."""

    removed: tuple[Connection, ...]
    revoked: int  # tokens DrChrono confirmed revoked
    revoke_failed: int  # tokens whose revocation DrChrono did not confirm
    iframe_removed: bool
    iframe_left: bool = False
    iframe_retrying: bool = False
    retrying: bool = False


async def deauthorize(
    services: Services,
    connection_id: int,
    *,
    actor: str,
    reason: str | None = None,
    queue: CleanupQueue | None = None,
) -> Deauthorization:
    target = await Connections(services.db).get(connection_id)
    if target is None:
        raise ConfigError(
            f"No connection with id {connection_id}",
            hint="chronobridge connections list shows the connections.",
        )
    app = await app_of(services, target.app_id)
    affected = await _affected(services, target)
    held = [t for t in [await Tokens(services.db).get(c.id) for c in affected] if t is not None]
    iframe = await _iframe_removal(services, app, target, held)
    cleanup = await _remove_locally(
        services, app, target, affected, actor=actor, reason=reason,
        work=(iframe, _held_tokens(held)), queue=queue,
    )  # fmt: skip
    for connection in affected:
        services.sources.pop(connection.id, None)
    outcome = await finish_cleanup(services, cleanup)
    if outcome.left.empty and queue is not None and not cleanup.empty:
        await queue.settle(cleanup)
    if not outcome.left.empty:
        await audit_unconfirmed(services, outcome.left, actor=actor)
    retrying = queue is not None and not outcome.left.empty
    return Deauthorization(
        removed=tuple(affected),
        revoked=outcome.revoked,
        revoke_failed=len(outcome.left.tokens),
        iframe_removed=outcome.iframe_removed,
        iframe_left=await _registered(services, target),  # the mirror goes once DrChrono confirms
        iframe_retrying=retrying and outcome.left.iframe is not None,
        retrying=retrying,
    )


async def _affected(services: Services, target: Connection) -> list[Connection]:
    if target.role is not Role.DOCTOR:
        return [target]
    group = await Connections(services.db).list(app_id=target.app_id, doctor_id=target.doctor_id)
    staff = [c for c in group if c.id != target.id and c.role is Role.STAFF]
    return [target, *staff]


async def _registered(services: Services, target: Connection) -> bool:
    found = await IframeRegistrations(services.db).list(app_id=target.app_id)
    return any(r.doctor_id == target.doctor_id for r in found)


async def _iframe_removal(
    services: Services, app: App, target: Connection, held: list[StoredTokens]
) -> IframeRemoval | None:
    """How to remove the group's iframe registration, if the hub knows of one: with the
    provider's own token when the provider leaves, else through the provider's connection."""
    if not await _registered(services, target):
        return None
    if target.role is Role.DOCTOR:
        own = next((t for t in held if t.connection_id == target.id), None)
        if own is None:
            return None
        return IframeRemoval(doctor_id=target.doctor_id, access_token=own.access_token)
    group = await Connections(services.db).list(app_id=app.id, doctor_id=target.doctor_id)
    provider = next((c for c in group if c.role is Role.DOCTOR), None)
    if provider is None:
        return None
    return IframeRemoval(doctor_id=target.doctor_id, connection_id=provider.id)


def _held_tokens(held: list[StoredTokens]) -> tuple[HeldToken, ...]:
    return tuple(
        HeldToken(connection_id=t.connection_id, value=value, hint=hint)
        for t in held
        for value, hint in ((t.refresh_token, "refresh_token"), (t.access_token, "access_token"))
    )


async def _remove_locally(
    services: Services,
    app: App,
    target: Connection,
    affected: list[Connection],
    *,
    actor: str,
    reason: str | None,
    work: tuple[IframeRemoval | None, tuple[HeldToken, ...]],
    queue: CleanupQueue | None,
) -> Cleanup:
    now = services.now()
    connections = Connections(services.db)
    async with services.db.write() as tx:
        for connection in affected:
            await connections.set_status(connection.id, ConnectionStatus.DEAUTHORIZED, now=now,
                                         tx=tx)  # fmt: skip
        entry = _entry(app, target, affected, actor=actor, reason=reason, iframe=work[0])
        record = await AuditLog(services.db).append(entry, now=now, tx=tx)
        cleanup = Cleanup(key=f"{target.id}.{record.seq}", app_id=app.id, target_id=target.id,
                          iframe=work[0], tokens=work[1])  # fmt: skip
        await _hold(tx, queue, cleanup)
    return cleanup


async def _hold(tx: AsyncConnection, queue: CleanupQueue | None, cleanup: Cleanup) -> None:
    if queue is not None and not cleanup.empty:
        await queue.hold(tx, cleanup)


def _entry(
    app: App,
    target: Connection,
    affected: list[Connection],
    *,
    actor: str,
    reason: str | None,
    iframe: IframeRemoval | None,
) -> AuditEntry:
    return AuditEntry(
        actor=actor,
        action="connection.deauthorize",
        target_type="connection",
        target_id=str(target.id),
        reason=reason,
        details={
            "app_id": app.id,
            "role": target.role.value,
            "doctor_id": target.doctor_id,
            "connections": len(affected),
            "staff_connections": len(affected) - 1,
            "iframe_removal": iframe is not None,
        },
    )
