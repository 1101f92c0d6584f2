"""Deterministic synthetic practice (to be written)."""

from __future__ import annotations

from chronobridge.emulator._state import EmulatorState


def id_base(resource: str) -> int:
    return 1


def seed(state: EmulatorState) -> None:
    """Fill `state` with a synthetic practice, deterministic by `state.config.seed`."""
