"""The checked spec's values and the small checks every part of the mapping file uses."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chronobridge.catalog import CATALOG
from chronobridge.domain.mappings._yaml import Located

PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
SCALAR = (str, int, float, bool, type(None))

__all__ = ["PATH", "SCALAR", "Bad", "FieldSpec", "MappingSpec", "ModelSpec", "TransformCall"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TransformCall:
    name: str
    args: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldSpec:
    target: str
    source: str | None
    is_path: bool
    transforms: tuple[TransformCall, ...] = ()
    codes: Mapping[str, Any] | None = None
    unknown: str = "error"
    default: Any = None
    required: bool = False
    write: bool = True
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelSpec:
    name: str
    source: str
    key: str
    fields: tuple[FieldSpec, ...]
    custom_fields: tuple[FieldSpec, ...] = ()
    include_all: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MappingSpec:
    version: int
    models: tuple[ModelSpec, ...]
    digest: str
    description: str = ""


class Bad(Exception):
    def __init__(self, reason: str, *, line: int, where: str) -> None:
        super().__init__(reason)
        self.reason, self.line, self.where = reason, line, where


def resource(value: Any, *, where: str, line: int) -> str:
    if not isinstance(value, str) or value not in CATALOG.resources:
        shown = value if isinstance(value, str) else ""
        raise Bad(
            f"unknown DrChrono resource {shown!r}{suggest(shown, CATALOG.resources)}",
            line=line,
            where=where,
        )
    return value


def mapping(value: Any, *, where: str, line: int) -> Located:
    if not isinstance(value, Located):
        raise Bad("expected a mapping (name: value lines)", line=line, where=where)
    return value


def keys(spec: Located, allowed: Iterable[str], *, where: str) -> None:
    allowed = tuple(allowed)
    for key in spec:
        if key not in allowed:
            raise Bad(
                f"unknown key {key!r}{suggest(key, allowed)}", line=spec.line_of(key), where=where
            )


def flag(spec: Located, key: str, *, where: str, default: bool = False) -> bool:
    value = spec.get(key, default)
    if not isinstance(value, bool):
        raise Bad(f"`{key}` must be true or false", line=spec.line_of(key), where=where)
    return value


def suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
