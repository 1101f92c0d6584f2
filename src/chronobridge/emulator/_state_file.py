"""`--state-file` while running: a save on demand, and a save every few seconds after a change.

    POST /_emulator/state/save      write the state file now → {"saved": path, "bytes": n}

Without these the file was written only on a clean shutdown, so a crash or a `kill -9` lost
everything since the start. Now the emulator notes every change (a record changed, or any
request that is not a read: tokens, applications, registrations) and the background saver writes
the file `AUTOSAVE_SECONDS` after the first unsaved change. The snapshot is taken on the event
loop (it reads live records); the write and its fsync run in a thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from chronobridge.emulator import _persist
from chronobridge.emulator._records import Change
from chronobridge.emulator._state import EmulatorState

AUTOSAVE_SECONDS = 2.0
AUTOSAVE_SETTING = "autosave_seconds"  # EmulatorConfig.extra, e.g. "0.2" in tests
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class StateFile:
    """`state.extensions["state_file"]`: what changed since the last save, and the saves."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.changes = 0  # changes noted so far
        self.saved = 0  # `changes` as of the last snapshot written
        self._lock = threading.Lock()  # one write at a time; an older snapshot never wins
        self._written = -1
        state.records.subscribe(self._on_change)

    @property
    def path(self) -> Path | None:
        return self.state.config.state_file

    def note(self) -> None:
        self.changes += 1

    def _on_change(self, _change: Change) -> None:
        self.note()

    async def save(self) -> int:
        """Snapshot now (on the loop), write in a thread; the bytes written."""
        if self.path is None:
            return 0
        generation, data = self.changes, _persist.encode(self.state)
        await asyncio.to_thread(self._write, self.path, generation, data)
        return len(data)

    def save_blocking(self) -> int:
        """The last save at shutdown, after the background saver has stopped."""
        if self.path is None:
            return 0
        data = _persist.encode(self.state)
        self._write(self.path, self.changes, data)
        return len(data)

    def _write(self, path: Path, generation: int, data: bytes) -> None:
        with self._lock:
            if generation < self._written:
                return
            _persist.write_atomically(path, data)
            self._written = generation
            self.saved = max(self.saved, generation)

    async def run(self) -> None:
        """The background saver: a save once changes have waited `interval` seconds."""
        interval = _interval(self.state)
        while True:
            await asyncio.sleep(interval)
            if self.changes != self.saved:
                self.saved = self.changes
                await self.save()


def state_file(state: EmulatorState) -> StateFile:
    found = state.extensions.get("state_file")
    if not isinstance(found, StateFile):
        found = state.extensions["state_file"] = StateFile(state)
    return found


def note_request(state: EmulatorState, method: str) -> None:
    """Called for every request: anything but a read may have changed what the file keeps."""
    if method not in READ_METHODS:
        state_file(state).note()


def install(state: EmulatorState) -> None:
    state_file(state)


def routes(state: EmulatorState) -> list[BaseRoute]:
    found = state_file(state)

    async def save(_request: Request) -> Response:
        if found.path is None:
            detail = "the emulator runs without --state-file; there is nothing to save to"
            return JSONResponse({"detail": detail}, status_code=409)
        written = await found.save()
        return JSONResponse({"saved": str(found.path), "bytes": written})

    return [Route("/_emulator/state/save", save, methods=["POST"])]


def background(state: EmulatorState) -> list[Callable[[], Coroutine[Any, Any, None]]]:
    found = state_file(state)
    return [found.run] if found.path is not None else []


def _interval(state: EmulatorState) -> float:
    try:
        seconds = float(state.config.extra.get(AUTOSAVE_SETTING, AUTOSAVE_SECONDS))
    except ValueError:
        return AUTOSAVE_SECONDS
    return seconds if 0.01 <= seconds <= 3600 else AUTOSAVE_SECONDS
