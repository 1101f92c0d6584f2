"""Fixtures: the client against the emulator in process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from client_emulated import Emulated, emulate

from chronobridge.client import DrChronoClient


@pytest.fixture
def emulator() -> Emulated:
    return emulate(patients=300)


@pytest.fixture
def make_emulator() -> Callable[..., Emulated]:
    return emulate


@pytest.fixture
async def client(emulator: Emulated) -> AsyncIterator[DrChronoClient]:
    async with emulator.client() as client:
        yield client
