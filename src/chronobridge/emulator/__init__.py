"""A faithful DrChrono emulator: the independent side that keeps the client honest.

It reads the catalog and nothing else of chronobridge (never the client, the store or the sync
code; enforced by import-linter).
"""

from chronobridge.emulator._app import build_state, create_app
from chronobridge.emulator._clock import Clock
from chronobridge.emulator._config import EmulatorConfig
from chronobridge.emulator._state import EmulatorState

__all__ = ["Clock", "EmulatorConfig", "EmulatorState", "build_state", "create_app"]
