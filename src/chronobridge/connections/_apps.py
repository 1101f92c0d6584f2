"""Changing and removing a registered application.

What the environment describes of its own application is refused here: every command would
register the environment's value again (`_hints.py`). Removing an application deletes, through
the foreign keys, everything stored for it: its connections and tokens, budget, API log, synced
records, webhook log. It is refused while a connection is active (unless asked to deauthorize
them all first) and while DrChrono has not confirmed a revocation (the retry needs the
application's secret). Updates and removals are audited, with the names of the fields changed,
never their values.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from chronobridge.connections._cleanup import CleanupQueue
from chronobridge.connections._deauthorize import deauthorize
from chronobridge.connections._hints import ENVIRONMENT_FIELDS, from_environment
from chronobridge.connections._services import Services
from chronobridge.errors import ConfigError
from chronobridge.store import (
    App,
    Apps,
    AppSpec,
    AuditEntry,
    AuditLog,
    Connection,
    Connections,
    ConnectionStatus,
    Role,
)

__all__ = ["remove_app", "update_app"]


async def update_app(services: Services, app: App, *, actor: str, **changes: Any) -> App:
    """Change the settings given (AppSpec field names); the environment's own are refused."""
    changed = {k: v for k, v in changes.items() if v is not None and getattr(app, k) != v}
    if from_environment(services, app):
        fixed = sorted(k for k in changed if k in ENVIRONMENT_FIELDS)
        if fixed:
            names = ", ".join(ENVIRONMENT_FIELDS[k] for k in fixed)
            raise ConfigError(
                f"Application {app.name!r} takes its {', '.join(fixed)} from the environment",
                hint=f"Change {names} instead; the next command registers the new value.",
            )
    if not changed:
        return app
    spec = AppSpec(**{f.name: getattr(app, f.name) for f in fields(AppSpec)})
    updated = await Apps(services.db).update(app.id, replace(spec, **changed), now=services.now())
    await _audit(services, app, "app.update", actor, {"fields": " ".join(sorted(changed))})
    return updated


async def remove_app(
    services: Services,
    app: App,
    *,
    actor: str,
    deauthorize_all: bool = False,
    queue: CleanupQueue | None = None,
) -> list[Connection]:
    """Delete the application and what is stored for it; returns the connections it had."""
    if from_environment(services, app):
        raise ConfigError(
            f"Application {app.name!r} comes from CHRONOBRIDGE_CLIENT_ID: the next command "
            "would register it again",
            hint="Unset CHRONOBRIDGE_CLIENT_ID and CHRONOBRIDGE_CLIENT_SECRET, then run "
            f"chronobridge apps remove {app.name} again.",
        )
    known = await Connections(services.db).list(app_id=app.id)
    if deauthorize_all:
        await _deauthorize_all(services, app, known, actor=actor, queue=queue)
    else:
        _refuse_active(app, known)
    await _audit(services, app, "app.remove", actor, {"client_id": app.client_id,
                                                      "connections": len(known)})  # fmt: skip
    await Apps(services.db).delete(app.id)
    return known


def _refuse_active(app: App, known: list[Connection]) -> None:
    active = [c.username for c in known if c.status is ConnectionStatus.ACTIVE]
    if active:
        raise ConfigError(
            f"Application {app.name!r} has {len(active)} active connection(s): {', '.join(active)}",
            hint="Deauthorize them first (chronobridge connections deauthorize NAME), or pass "
            "--deauthorize to revoke them all and remove the application.",
        )


async def _deauthorize_all(
    services: Services,
    app: App,
    known: list[Connection],
    *,
    actor: str,
    queue: CleanupQueue | None,
) -> None:
    """Providers first (each takes their staff along), then staff left without one."""
    waiting = 0
    for role in (Role.DOCTOR, Role.STAFF):
        for connection in await Connections(services.db).list(app_id=app.id):
            if connection.role is role and connection.status is ConnectionStatus.ACTIVE:
                done = await deauthorize(services, connection.id, actor=actor,
                                         reason="application removed", queue=queue)  # fmt: skip
                if done.retrying or done.revoke_failed:
                    waiting += 1
    if waiting:
        raise ConfigError(
            f"The connections of {app.name!r} are deauthorized, but DrChrono has not confirmed "
            "every revocation: the application is kept so that they can be retried",
            hint=f"Run chronobridge apps remove {app.name} again later.",
        )


async def _audit(
    services: Services, app: App, action: str, actor: str, details: dict[str, Any]
) -> None:
    entry = AuditEntry(actor=actor, action=action, target_type="app", target_id=str(app.id),
                       details={"name": app.name, **details})  # fmt: skip
    await AuditLog(services.db).append(entry, now=services.now())
