"""The sentence for a connection that cannot call DrChrono: who, what happened, what to run."""

from __future__ import annotations

from chronobridge.errors import NeedsReconnect
from chronobridge.store import Connection, ConnectionStatus

__all__ = ["gone"]


def gone(connection: Connection, *, exists: bool = True) -> NeedsReconnect:
    """The error for a connection that has no usable tokens: what happened and what to run."""
    who = connection.username
    again = f"Run chronobridge connect and sign in to DrChrono as {who}."
    if not exists:
        return NeedsReconnect(f"The connection of {who} no longer exists", hint=again)
    if connection.status is ConnectionStatus.DEAUTHORIZED:
        return NeedsReconnect(f"The connection of {who} was deauthorized", hint=again)
    if connection.status is ConnectionStatus.NEEDS_RECONNECT:
        return NeedsReconnect(
            f"DrChrono no longer accepts the authorization of {who}; it must be renewed",
            hint=again,
        )
    return NeedsReconnect(f"The connection of {who} has no tokens", hint=again)
