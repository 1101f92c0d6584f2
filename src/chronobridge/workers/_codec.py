"""Tagged JSON for what DBOS persists: workflow inputs, outputs, step results and exceptions.

Plain JSON values pass through unchanged. Tuples, datetimes, dates, UUIDs, decimals, bytes and
exceptions are written as one-key objects `{"__cb__": [tag, value]}` so they come back as the
same type. Anything else raises TypeError: workflows pass ids and counts, not objects.

Exceptions are rebuilt as their own class only when that class lives in the standard library,
chronobridge or DBOS (so `except NotFound:` still works on a replayed step); any other class
comes back as `RecordedError` carrying the original type name. Nothing is ever imported by a
name read from the database: classes are looked up in modules that are already loaded.
"""

from __future__ import annotations

import base64
import builtins
import json
import sys
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

TAG = "__cb__"
_TRUSTED_MODULES = ("builtins", "chronobridge", "dbos")


class RecordedError(Exception):
    """A failure recorded by a workflow step whose class is not rebuilt on replay."""

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(message)
        self.type_name = type_name


def dumps(value: Any) -> bytes:
    """Encode `value` as compact UTF-8 JSON; TypeError for what has no faithful encoding."""
    return json.dumps(_encode(value), separators=(",", ":"), ensure_ascii=False).encode()


def loads(data: bytes) -> Any:
    return _decode(json.loads(data))


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return _encode_dict(value)
    if isinstance(value, BaseException):
        return {TAG: ["exc", _encode_exception(value)]}
    return {TAG: _encode_scalar(value)}


def _encode_dict(value: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or key == TAG:
            raise TypeError("workflow data: dict keys must be strings other than __cb__")
        out[key] = _encode(item)
    return out


def _encode_scalar(value: Any) -> list[Any]:
    if isinstance(value, tuple):
        return ["tuple", [_encode(item) for item in value]]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("workflow data: naive datetimes are not allowed")
        return ["datetime", value.isoformat()]
    if isinstance(value, date):
        return ["date", value.isoformat()]
    if isinstance(value, uuid.UUID):
        return ["uuid", str(value)]
    if isinstance(value, Decimal):
        return ["decimal", str(value)]
    if isinstance(value, bytes):
        return ["bytes", base64.b64encode(value).decode("ascii")]
    raise TypeError(f"workflow data: {type(value).__name__} is not serializable")


def _encode_exception(error: BaseException) -> dict[str, Any]:
    cls = type(error)
    return {
        "type": f"{cls.__module__}:{cls.__qualname__}",
        "args": [_encode_or_text(arg) for arg in error.args],
        "attrs": _encodable_attrs(error),
    }


def _encode_or_text(value: Any) -> Any:
    try:
        return _encode(value)
    except TypeError:
        return str(value)


def _encodable_attrs(error: BaseException) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for name, value in vars(error).items():
        try:
            attrs[name] = _encode(value)
        except TypeError:
            continue
    return attrs


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    if TAG in value:
        tag, payload = value[TAG]
        return _decode_tagged(tag, payload)
    return {key: _decode(item) for key, item in value.items()}


def _decode_tagged(tag: str, payload: Any) -> Any:
    if tag == "exc":
        return _decode_exception(payload)
    if tag == "tuple":
        return tuple(_decode(item) for item in payload)
    decoders: dict[str, Callable[[Any], Any]] = {
        "datetime": datetime.fromisoformat,
        "date": date.fromisoformat,
        "uuid": uuid.UUID,
        "decimal": Decimal,
        "bytes": base64.b64decode,
    }
    return decoders[tag](payload)


def _decode_exception(payload: dict[str, Any]) -> BaseException:
    type_name = str(payload["type"])
    args = tuple(_decode(arg) for arg in payload["args"])
    cls = _trusted_exception_class(type_name)
    if cls is not None:
        try:
            return _rebuild(cls, args, payload["attrs"])
        except (TypeError, AttributeError, ValueError):
            pass
    return RecordedError(type_name.replace(":", "."), str(args[0]) if args else "")


def _rebuild(
    cls: type[BaseException], args: tuple[Any, ...], attrs: dict[str, Any]
) -> BaseException:
    # __new__ skips the class's own __init__, whose signature may demand keyword arguments.
    error = cls.__new__(cls)
    error.args = args
    for name, value in attrs.items():
        setattr(error, name, _decode(value))
    return error


def _trusted_exception_class(type_name: str) -> type[BaseException] | None:
    module_name, _, qualname = type_name.partition(":")
    if module_name.split(".")[0] not in _TRUSTED_MODULES:
        return None
    target: Any = builtins if module_name == "builtins" else sys.modules.get(module_name)
    for part in qualname.split("."):
        target = getattr(target, part, None)
    if isinstance(target, type) and issubclass(target, BaseException):
        return target
    return None
