"""Stable executor ids.

DBOS recovers, at launch, the PENDING workflows of the executor id it launches with, so the id
must (1) survive a restart of the same worker and (2) never be used by two live processes at
once. An explicit id (flag or CHRONOBRIDGE_EXECUTOR_ID; the pod or machine name in a cluster)
satisfies both when the operator keeps it unique. Without one, a process takes the lowest free
*slot* on this host: `<hostname>-<n>`, where slot n is held by an exclusive lock on
`<home>/executors/<n>.lock` for the life of the process. The kernel drops the lock when the
process dies, even on `kill -9`, so a restarted worker takes the slot, and the id, of the one
that died, and two live processes never share one. Hostname + pid would be unique but not
stable: a restart would leave the dead process's work to the orphan sweeper.
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from chronobridge.errors import ConfigError

ENV_EXECUTOR_ID = "CHRONOBRIDGE_EXECUTOR_ID"
_MAX_SLOTS = 256
_VALID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")


@dataclass
class ExecutorIdentity:
    """An executor id, and the slot lock that keeps it ours (None for explicit ids)."""

    executor_id: str
    _lock: IO[bytes] | None = field(default=None, repr=False)

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def validate_executor_id(value: str) -> str:
    if not _VALID.match(value):
        raise ConfigError(
            "An executor id is 1-128 letters, digits or . _ : @ - (no spaces).",
            hint="Pass --executor-id with a name such as the machine or pod name.",
        )
    return value


def resolve_executor_id(explicit: str | None, *, home: Path) -> ExecutorIdentity:
    """The explicit id if given (else $CHRONOBRIDGE_EXECUTOR_ID), else a host slot."""
    chosen = explicit or os.environ.get(ENV_EXECUTOR_ID)
    if chosen:
        return ExecutorIdentity(validate_executor_id(chosen))
    return claim_host_slot(home)


def claim_host_slot(home: Path) -> ExecutorIdentity:
    folder = home / "executors"
    folder.mkdir(parents=True, exist_ok=True)
    host = _host_name()
    for slot in range(_MAX_SLOTS):
        handle = (folder / f"{slot}.lock").open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return ExecutorIdentity(f"{host}-{slot}", handle)
    raise ConfigError(f"All {_MAX_SLOTS} executor slots on this host are in use.")


def _host_name() -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname()) or "host"
    return name[:100]
