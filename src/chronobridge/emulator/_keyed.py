"""Small keyed stores for the sub-actions' state (onpatient invites, yellow notepads, consent
form assignments). They live in `state.extensions` and follow `_persist`'s protocol
(`snapshot()` and the classmethod `restore(data)`), so `--state-file` keeps them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chronobridge.emulator._state import EmulatorState


@dataclass(slots=True)
class KeyedStore:
    items: dict[str, Any] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        return dict(self.items)

    @classmethod
    def restore(cls, data: Any) -> KeyedStore:
        return cls(dict(data) if isinstance(data, dict) else {})


def keyed(state: EmulatorState, key: str) -> KeyedStore:
    found = state.extensions.get(key)
    if not isinstance(found, KeyedStore):
        found = state.extensions[key] = KeyedStore.restore(found)  # raw data from a state file
    return found
