"""Deauthorization with DrChrono's semantics (DESIGN §1, facts §1, reliability OA-11).

A provider's deauthorization removes the application for the provider and for every staff
member working for them; a staff member's removes only their own connection. Either removes the
provider group's iframe registration, as DrChrono does. Locally, in one transaction: the tokens
are deleted, the connections marked `deauthorized` (their jobs refuse to run) and the iframe
mirror and an audit row written, whatever DrChrono will answer. Then both tokens of every
connection are revoked at /o/revoke_token/ with client authentication; a revocation DrChrono did
not confirm is recorded in a second audit row (the token dies at DrChrono's side at the latest
when the user's next authorization replaces it).
"""

from __future__ import annotations

from dataclasses import dataclass

from chronobridge.connections._clients import app_of
from chronobridge.connections._endpoint import TokenEndpoint
from chronobridge.connections._observer import ApiLogObserver
from chronobridge.connections._services import Services
from chronobridge.errors import ConfigError, HubError
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
    """What a deauthorization did. `removed` starts with the connection asked for."""

    removed: tuple[Connection, ...]
    revoked: int  # tokens DrChrono confirmed revoked
    revoke_failed: int  # tokens whose revocation DrChrono did not confirm
    iframe_removed: bool


async def deauthorize(
    services: Services, connection_id: int, *, actor: str, reason: str | None = None
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
    iframe_removed = await _remove_locally(services, app, target, affected, actor, reason)
    for connection in affected:
        services.sources.pop(connection.id, None)
    revoked, failed = await _revoke(services, app, held)
    if failed:
        await _audit_revoke_failures(services, target, failed, actor)
    return Deauthorization(
        removed=tuple(affected), revoked=revoked, revoke_failed=failed,
        iframe_removed=iframe_removed,
    )  # fmt: skip


async def _affected(services: Services, target: Connection) -> list[Connection]:
    if target.role is not Role.DOCTOR:
        return [target]
    group = await Connections(services.db).list(app_id=target.app_id, doctor_id=target.doctor_id)
    staff = [c for c in group if c.id != target.id and c.role is Role.STAFF]
    return [target, *staff]


async def _remove_locally(
    services: Services,
    app: App,
    target: Connection,
    affected: list[Connection],
    actor: str,
    reason: str | None,
) -> bool:
    now = services.now()
    connections = Connections(services.db)
    async with services.db.write() as tx:
        for connection in affected:
            await connections.set_status(connection.id, ConnectionStatus.DEAUTHORIZED, now=now,
                                         tx=tx)  # fmt: skip
        removed = await IframeRegistrations(services.db).remove(app.id, target.doctor_id, tx=tx)
        entry = AuditEntry(
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
                "iframe_removed": removed,
            },
        )
        await AuditLog(services.db).append(entry, now=now, tx=tx)
    return removed


async def _revoke(services: Services, app: App, held: list[StoredTokens]) -> tuple[int, int]:
    endpoint = TokenEndpoint(services, app)
    revoked = failed = 0
    for tokens in held:
        observer = ApiLogObserver(
            services, app_id=app.id, app_name=app.name, connection_id=tokens.connection_id
        )
        for value, hint in ((tokens.refresh_token, "refresh_token"),
                            (tokens.access_token, "access_token")):  # fmt: skip
            try:
                await endpoint.revoke(value, hint=hint, observer=observer)
                revoked += 1
            except HubError:
                failed += 1
    return revoked, failed


async def _audit_revoke_failures(
    services: Services, target: Connection, failed: int, actor: str
) -> None:
    await AuditLog(services.db).append(
        AuditEntry(
            actor=actor,
            action="connection.revoke_failed",
            target_type="connection",
            target_id=str(target.id),
            reason="DrChrono did not confirm the revocation; the tokens were deleted here",
            details={"tokens": failed},
        ),
        now=services.now(),
    )
