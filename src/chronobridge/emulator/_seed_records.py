"""Synthetic records for every resource that can be listed (to be written)."""

from __future__ import annotations

from chronobridge.emulator._state import EmulatorState


def seed_records(state: EmulatorState) -> None:
    """Patients, appointments and data for every pollable resource, by `state.config.seed`."""
