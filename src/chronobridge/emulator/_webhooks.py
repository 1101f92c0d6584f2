"""(to be written)"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from starlette.routing import BaseRoute

from chronobridge.emulator._state import EmulatorState


def routes(state: EmulatorState) -> list[BaseRoute]:
    return []


def background(state: EmulatorState) -> list[Callable[[], Coroutine[Any, Any, None]]]:
    return []
