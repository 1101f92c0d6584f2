"""`--state-file`: the emulator's data survives restarts, crashes included.

It is written on shutdown, on demand (`POST /_emulator/state/save`) and every few seconds
while something changes (`_state_file`), so a `kill -9` loses at most the last moments.

The file is one JSON document: the records, practices and users, applications, codes, tokens
(with the refresh index), App Directory authorizations, iframe registrations, and every value
of `state.extensions` that follows the small protocol below. It is written atomically (a
temporary file beside it, then `os.replace`), so a crash never leaves half a file.

Extension protocol: a value with `snapshot() -> JSON-able` is saved under its key. On load, when
`state.extensions[key]` already holds an object with `restore(data)` (a feature's `install`
created it), that is called; a non-None return value (a classmethod-style `restore`) replaces
the object. Otherwise the raw data is left under the key for its owner to pick up on first use.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import orjson

from chronobridge.emulator._state import App, AuthCode, EmulatorState, Practice, Token, User

VERSION = 1
LOADED_KEY = "persist_loaded"  # extension keys whose raw data came from the file


@runtime_checkable
class Persistable(Protocol):
    def snapshot(self) -> Any: ...


def load(state: EmulatorState) -> bool:
    """Fill `state` from its state file; False when there is none (then the seed runs)."""
    path = state.config.state_file
    if path is None or not Path(path).exists():
        return False
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    state.records.restore(data["records"])
    state.practices = {p["id"]: Practice(**p) for p in data.get("practices", [])}
    state.users = {u["id"]: _user(u) for u in data.get("users", [])}
    state.apps = {a["client_id"]: _app(a) for a in data.get("apps", [])}
    state.codes = {c["code"]: _code(c) for c in data.get("codes", [])}
    state.tokens = {t["access_token"]: _token(t) for t in data.get("tokens", [])}
    state.refresh_index = dict(data.get("refresh_index", {}))
    state.authorizations = {(c, int(u)) for c, u in data.get("authorizations", [])}
    state.iframes = {(c, int(d)) for c, d in data.get("iframes", [])}
    _restore_extensions(state, data.get("extensions", {}))
    return True


def save(state: EmulatorState) -> int:
    """Write `state` to its state file, atomically, when one is configured; the bytes written
    (0 without a state file)."""
    path = state.config.state_file
    if path is None:
        return 0
    data = encode(state)
    write_atomically(Path(path), data)
    return len(data)


def encode(state: EmulatorState) -> bytes:
    """The state file's content. Taken on the event loop's thread, since it reads live records;
    writing it can happen elsewhere."""
    document = snapshot(state)
    try:
        return orjson.dumps(document)
    except (orjson.JSONEncodeError, TypeError):  # e.g. an integer beyond 64 bits in a record
        return json.dumps(document, separators=(",", ":")).encode("utf-8")


def write_atomically(target: Path, data: bytes) -> None:
    """A temporary file beside the target, flushed to disk, then renamed over it: a crash at
    any moment leaves the old file or the new one, never half of one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def snapshot(state: EmulatorState) -> dict[str, Any]:
    return {
        "version": VERSION,
        "records": state.records.snapshot(),
        "practices": [_plain(p) for p in state.practices.values()],
        "users": [_plain(u) for u in state.users.values()],
        "apps": [_plain(a) for a in state.apps.values()],
        "codes": [_plain(c) for c in state.codes.values()],
        "tokens": [_plain(t) for t in state.tokens.values()],
        "refresh_index": dict(state.refresh_index),
        "authorizations": sorted([c, u] for c, u in state.authorizations),
        "iframes": sorted([c, d] for c, d in state.iframes),
        "extensions": _extensions(state),
    }


def _extensions(state: EmulatorState) -> dict[str, Any]:
    loaded = state.extensions.get(LOADED_KEY) or set()
    out: dict[str, Any] = {}
    for key, value in state.extensions.items():
        if isinstance(value, Persistable) and not isinstance(value, type):
            out[key] = value.snapshot()
        elif key in loaded and isinstance(value, dict | list):
            out[key] = value  # raw data nobody has claimed yet: keep it for the next start
    return out


def _restore_extensions(state: EmulatorState, saved: dict[str, Any]) -> None:
    for key, data in saved.items():
        current = state.extensions.get(key)
        restore = getattr(current, "restore", None)
        if callable(restore):
            replaced = restore(data)
            if replaced is not None:
                state.extensions[key] = replaced
        else:
            state.extensions[key] = data
    state.extensions[LOADED_KEY] = set(saved)


def _plain(value: Any) -> dict[str, Any]:
    out = {}
    for item in dataclasses.fields(value):
        field = getattr(value, item.name)
        if isinstance(field, datetime):
            field = field.isoformat()
        elif isinstance(field, frozenset | set | tuple):
            field = sorted(field) if not isinstance(field, tuple) else list(field)
        out[item.name] = field
    return out


def _user(data: dict[str, Any]) -> User:
    return User(**{**data, "permissions": frozenset(data["permissions"])})


def _app(data: dict[str, Any]) -> App:
    return App(**{**data, "redirect_uris": tuple(data["redirect_uris"])})


def _code(data: dict[str, Any]) -> AuthCode:
    return AuthCode(
        **{
            **data,
            "scopes": frozenset(data["scopes"]),
            "expires_at": datetime.fromisoformat(data["expires_at"]),
        }
    )


def _token(data: dict[str, Any]) -> Token:
    return Token(
        **{
            **data,
            "scopes": frozenset(data["scopes"]),
            "expires_at": datetime.fromisoformat(data["expires_at"]),
        }
    )
