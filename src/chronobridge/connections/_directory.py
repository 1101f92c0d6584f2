"""The App Directory view: who has authorized which application, as the hub knows it.

One row per connection: the DrChrono user, their role, the provider they act for (with that
provider's username when the provider connected too), the status and since when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chronobridge.connections._services import Services
from chronobridge.store import Apps, Connection, Connections, ConnectionStatus, Role

__all__ = ["DirectoryEntry", "app_directory"]


@dataclass(frozen=True, kw_only=True)
class DirectoryEntry:
    connection_id: int
    app: str
    client_id: str
    user: str
    drchrono_user_id: int
    role: Role
    provider_id: int
    provider: str | None  # the provider's username, when the provider connected too
    status: ConnectionStatus
    since: datetime
    last_used_at: datetime | None
    scopes: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.connection_id,
            "app": self.app,
            "client_id": self.client_id,
            "user": self.user,
            "drchrono_user_id": self.drchrono_user_id,
            "role": self.role.value,
            "provider_id": self.provider_id,
            "provider": self.provider,
            "status": self.status.value,
            "since": self.since.isoformat(timespec="seconds"),
            "last_used_at": None
            if self.last_used_at is None
            else self.last_used_at.isoformat(timespec="seconds"),
            "scopes": list(self.scopes),
        }


async def app_directory(services: Services, *, app_id: int | None = None) -> list[DirectoryEntry]:
    apps = {app.id: app for app in await Apps(services.db).list()}
    rows = await Connections(services.db).list(app_id=app_id)
    providers = {(c.app_id, c.doctor_id): c.username for c in rows if c.role is Role.DOCTOR}
    return [_entry(c, apps[c.app_id].name, apps[c.app_id].client_id, providers) for c in rows]


def _entry(
    c: Connection, app: str, client_id: str, providers: dict[tuple[int, int], str]
) -> DirectoryEntry:
    return DirectoryEntry(
        connection_id=c.id,
        app=app,
        client_id=client_id,
        user=c.username,
        drchrono_user_id=c.drchrono_user_id,
        role=c.role,
        provider_id=c.doctor_id,
        provider=providers.get((c.app_id, c.doctor_id)),
        status=c.status,
        since=c.created_at,
        last_used_at=c.last_used_at,
        scopes=c.scopes,
    )
