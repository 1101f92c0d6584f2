"""Other processes for the store's concurrency tests: each is `python -m support.store_workers`.

A worker opens the database itself (its own engine, its own connections), prints `ready`, waits
for a `go` line on stdin so that all of them start at the same moment, does its work and prints
one JSON line. The parent side is `Workers`: start N, release them together, collect results.
The encryption keys travel in the CB_TEST_KEYS environment variable, never on the command line.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chronobridge.domain.budget import Priority
from chronobridge.errors import BudgetExhausted
from chronobridge.store import (
    AuditEntry,
    AuditLog,
    Budget,
    KeyRing,
    TokenPair,
    Tokens,
    open_database,
)

KEYS_ENV = "CB_TEST_KEYS"
TESTS = Path(__file__).resolve().parent.parent


class Workers:
    """N worker processes running one command, released together."""

    def __init__(self, keys: KeyRing, *args: str, count: int = 1) -> None:
        env = {**os.environ, KEYS_ENV: ",".join(k.decode() for k in keys.keys)}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "support.store_workers", *args]
        self.procs = [
            subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(count)
        ]

    def readline(self, index: int = 0) -> str:
        """The next line a worker printed (blocks; pytest-timeout bounds a hung worker)."""
        stdout = self.procs[index].stdout
        assert stdout is not None
        return stdout.readline().strip()

    def wait_ready(self) -> None:
        for index, proc in enumerate(self.procs):
            line = self.readline(index)
            if line != "ready":
                stderr = proc.stderr.read() if proc.stderr else ""
                raise RuntimeError(f"worker said {line!r}:\n{stderr}")

    def go(self) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()

    def results(self, timeout: float = 120) -> list[dict[str, Any]]:
        out = []
        for proc in self.procs:
            stdout, stderr = proc.communicate(timeout=timeout)
            if proc.returncode != 0:
                raise RuntimeError(f"worker failed ({proc.returncode}):\n{stderr}")
            out.append(json.loads(stdout.strip().splitlines()[-1]))
        return out

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


# --- the worker side ---------------------------------------------------------------------------


def _keys() -> KeyRing:
    return KeyRing(os.environ[KEYS_ENV].split(","))


def _ready_then_wait() -> None:
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("no go")


async def _open(url: str) -> dict[str, Any]:
    _ready_then_wait()
    db = await open_database(url, keys=_keys())
    await db.close()
    return {"opened": True}


async def _budget(url: str, app_id: str, priority: str, attempts: str) -> dict[str, Any]:
    db = await open_database(url, keys=_keys(), migrate=False)
    budget, granted, refused = Budget(db), 0, 0
    _ready_then_wait()
    for _ in range(int(attempts)):
        try:
            await budget.reserve(int(app_id), Priority(priority))
            granted += 1
        except BudgetExhausted:
            refused += 1
    await db.close()
    return {"granted": granted, "refused": refused}


async def _audit(url: str, actor: str, count: str) -> dict[str, Any]:
    db = await open_database(url, keys=_keys(), migrate=False)
    log = AuditLog(db)
    _ready_then_wait()
    for n in range(int(count)):
        await log.append(
            AuditEntry(actor=actor, action="test.append", target_type="test", target_id=str(n))
        )
    await db.close()
    return {"appended": int(count)}


async def _hold_refresh(url: str, connection_id: str, seconds: str) -> dict[str, Any]:
    """Take the refresh lock, say `locked`, keep it `seconds`, then save a rotated pair."""
    db = await open_database(url, keys=_keys(), migrate=False)
    _ready_then_wait()
    async with Tokens(db).begin_refresh(int(connection_id)) as handle:
        print("locked", flush=True)
        await asyncio.sleep(float(seconds))
        pair = TokenPair(
            access_token="access-from-holder",
            refresh_token="refresh-from-holder",
            expires_at=datetime.now(UTC) + timedelta(hours=48),
        )
        stored = await handle.complete(pair)
        released_at = time.time()
    await db.close()
    return {"generation": stored.generation, "released_at": released_at}


COMMANDS = {"open": _open, "budget": _budget, "audit": _audit, "hold-refresh": _hold_refresh}


def main(argv: list[str]) -> None:
    command, *args = argv
    result = asyncio.run(COMMANDS[command](*args))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
