"""`--state-file`: the emulator's data survives restarts (written on shutdown and on demand)."""

from __future__ import annotations

from chronobridge.emulator._state import EmulatorState


def load(state: EmulatorState) -> bool:
    """Fill `state` from its state file; False when there is none (then the seed runs)."""
    return False


def save(state: EmulatorState) -> None:
    """Write `state` to its state file, atomically, when one is configured."""
