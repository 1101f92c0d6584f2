"""Which application and which connection a command means when it names none (or a name)."""

from __future__ import annotations

from chronobridge.connections._status import gone
from chronobridge.errors import ConfigError, HubError, NeedsReconnect
from chronobridge.store import App, Connection, ConnectionStatus, Role

__all__ = ["choose_app", "choose_connection"]


def choose_app(apps: list[App], name: str | None, *, default: App | None = None) -> App:
    """The app called `name` (or with that client id); else the default; else the only one."""
    if name:
        found = [a for a in apps if name in (a.name, a.client_id)]
        if not found:
            raise ConfigError(
                f"No application named {name!r}",
                hint="chronobridge apps list shows the registered applications.",
            )
        return found[0]
    if default is not None:
        return default
    if len(apps) == 1:
        return apps[0]
    if not apps:
        raise ConfigError(
            "No DrChrono application is registered",
            hint="Set CHRONOBRIDGE_CLIENT_ID and CHRONOBRIDGE_CLIENT_SECRET, "
            "or run chronobridge apps add.",
        )
    raise ConfigError(
        "Several applications are registered",
        hint="Pass --app NAME (chronobridge apps list shows them).",
    )


def choose_connection(connections: list[Connection], name: str | None) -> Connection:
    """The connection named by username or id; else the only active one, else the first
    provider's; a connection that is not active is returned too, so its error can say why."""
    if name:
        found = [c for c in connections if name in (c.username, str(c.id))]
        if not found:
            raise ConfigError(
                f"No connection named {name!r}",
                hint="chronobridge connections list shows them; chronobridge connect adds one.",
            )
        return found[0]
    active = [c for c in connections if c.status is ConnectionStatus.ACTIVE]
    if not active:
        raise _none_active(connections)
    if len(active) == 1:
        return active[0]
    doctors = [c for c in active if c.role is Role.DOCTOR]
    return (doctors or active)[0]


def _none_active(connections: list[Connection]) -> HubError:
    """No connection yet, or only some that must be authorized again: who, and what to run."""
    if not connections:
        return ConfigError("No connection yet", hint="Run chronobridge connect.")
    providers = [c for c in connections if c.role is Role.DOCTOR]
    first = (providers or connections)[0]
    if len(connections) == 1:
        return gone(first)
    states = ", ".join(f"{c.username} {_STATES[c.status]}" for c in connections)
    return NeedsReconnect(
        f"No connection is active ({states})",
        hint=f"Run chronobridge connect and sign in to DrChrono as {first.username} (or the "
        "user to act as).",
    )


_STATES = {
    ConnectionStatus.ACTIVE: "is active",
    ConnectionStatus.NEEDS_RECONNECT: "must reconnect",
    ConnectionStatus.DEAUTHORIZED: "was deauthorized",
}
