"""What the control API (/_emulator/) accepts: one JSON reader and one set of value checks.

Every control endpoint reads its body and its numbers through here, so bad input is refused the
same way everywhere: 400 with a message naming the field, before anything is changed. Numbers
must be finite and within a range that cannot overflow the clock or make a call wait forever
(JSON such as `1e400`, `NaN` or `Infinity` is not a number here).
"""

from __future__ import annotations

import math
from typing import Any

import orjson
from starlette.requests import Request


class ControlError(ValueError):
    """A control request that cannot be carried out; answered with `status_code` and the
    message as `{"detail": ...}`. A ValueError, so flag parsers can treat it as one."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


async def read_json(request: Request) -> Any:
    """The body as JSON (an empty body is `{}`). orjson refuses what Python's `json` lets
    through: NaN and Infinity, numbers that overflow to infinity, lone surrogates, and
    nesting deeper than 1,024 levels."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ControlError(f"the body must be JSON: {exc}") from None


def as_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ControlError("the body must be a JSON object")
    return value


def number(body: dict[str, Any], name: str, default: float, *, low: float, high: float) -> float:
    """A finite JSON number (not a boolean) in [low, high]; `default` when absent."""
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ControlError(f"{name} must be a number")
    if not (math.isfinite(value) and low <= value <= high):
        raise ControlError(f"{name} must be between {_plain(low)} and {_plain(high)}")
    return float(value)


def integer(body: dict[str, Any], name: str, default: int, *, low: int, high: int) -> int:
    """A whole JSON number in [low, high]; `default` when absent."""
    value = number(body, name, default, low=low, high=high)
    if not value.is_integer():
        raise ControlError(f"{name} must be a whole number")
    return int(value)


def boolean(body: dict[str, Any], name: str, *, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise ControlError(f"{name} must be true or false")
    return value


def text(body: dict[str, Any], name: str, default: str | None = None) -> str | None:
    """A JSON string (or null); `default` when absent."""
    value = body.get(name, default)
    if value is not None and not isinstance(value, str):
        raise ControlError(f"{name} must be a string")
    return value


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
