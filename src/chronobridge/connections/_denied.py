"""A 403 explained with what the hub knows: the scopes the catalog says the operation needs and
the scopes the connection was granted. A missing scope is named with the exact `connect` command
that asks for it; with the scope there, the user lacks the permission inside DrChrono."""

from __future__ import annotations

from chronobridge.catalog import CATALOG, Operation, scope_allows
from chronobridge.connections._clients import app_of
from chronobridge.connections._hints import from_environment
from chronobridge.connections._services import Services
from chronobridge.errors import PermissionDenied
from chronobridge.store import Connection

__all__ = ["explain_denied"]


async def explain_denied(
    services: Services, connection: Connection, error: PermissionDenied
) -> PermissionDenied:
    """`error` told in the connection's terms (unchanged when the catalog cannot tell)."""
    op = CATALOG.find(error.method, error.path) if error.method else None
    if op is None or not op.scopes:
        return error
    who, granted = connection.username, sorted(connection.scopes)
    if scope_allows(op, set(granted)):
        message = (
            f"DrChrono refused {who}: the connection holds a scope this call accepts, so the "
            "user lacks the permission in DrChrono"
        )
        hint = f"Give {who} that permission in DrChrono, or act as another user (--connection)."
    else:
        app = await app_of(services, connection.app_id)
        option = "" if from_environment(services, app) else f" --app {app.name}"
        message = (
            f"DrChrono refused: the connection of {who} lacks the scope this call needs (one "
            f"of {', '.join(op.scopes)}; it was granted {', '.join(granted) or 'none'})"
        )
        scopes = ",".join([*granted, _wanted(op)])
        hint = f"Run chronobridge connect{option} --scope {scopes} and sign in as {who}."
    return PermissionDenied(
        message, method=error.method, path=error.path, status=error.status, hint=hint
    )


def _wanted(op: Operation) -> str:
    """The one scope to ask for: the operation's first read scope for a read, else its first
    write scope."""
    suffix = ":read" if op.is_read else ":write"
    return next((s for s in op.scopes if s.endswith(suffix)), op.scopes[0])
