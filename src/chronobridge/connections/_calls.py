"""Any catalog operation by METHOD and concrete path, as `chronobridge call` (and later the
admin UI's "try it") sends it: the operation is found in the catalog, the id taken from the
path, the query merged with the parameters given; lists can be followed to the end lazily."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from chronobridge.catalog import CATALOG, Kind, Operation
from chronobridge.client import DrChronoClient
from chronobridge.errors import InvalidRequest

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

__all__ = ["CallTarget", "call_all", "call_once", "parse_body", "parse_pairs", "resolve"]


@dataclass(frozen=True, kw_only=True)
class CallTarget:
    operation: Operation
    id: str | None
    query: dict[str, str]


def resolve(method: str, path: str) -> CallTarget:
    """The catalog operation serving METHOD PATH (`/api/patients/12`, `patients/12?x=1`)."""
    verb = method.upper()
    if verb not in METHODS:
        raise InvalidRequest(f"The method must be one of {', '.join(METHODS)}")
    raw, _, query = path.partition("?")
    clean = "/" + raw.strip("/")
    if not clean.startswith("/api/"):
        clean = "/api" + clean
    op = CATALOG.find(verb, clean)
    if op is None:
        accepted = CATALOG.methods_for(clean)
        if accepted:
            raise InvalidRequest(f"{_shape(clean)} does not accept {verb}; it accepts "
                                 f"{', '.join(accepted)}")  # fmt: skip
        raise InvalidRequest(f"No DrChrono operation answers {verb} {_shape(clean)}")
    return CallTarget(operation=op, id=_path_id(op, clean), query=dict(parse_qsl(query)))


def parse_pairs(items: list[str], *, option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InvalidRequest(f"{option} takes NAME=VALUE, like {option} page_size=50")
        pairs[name] = value
    return pairs


def parse_body(text: str | None) -> Any:
    """--json: JSON text, or @file with JSON in it; the error never repeats the content."""
    if text is None:
        return None
    source = text
    if text.startswith("@"):
        try:
            source = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidRequest(
                f"Cannot read the JSON file {text[1:]} ({type(exc).__name__})"
            ) from None
    try:
        return json.loads(source)
    except ValueError as exc:
        line = getattr(exc, "lineno", "?")
        raise InvalidRequest(f"The --json body is not valid JSON (line {line})") from None


async def call_once(
    client: DrChronoClient,
    target: CallTarget,
    *,
    params: Mapping[str, str],
    body: Any = None,
    form: Mapping[str, str] | None = None,
    files: Mapping[str, Path] | None = None,
) -> Any:
    op = target.operation
    uploads = {k: (p.name, p.read_bytes()) for k, p in (files or {}).items()} or None
    return await client.call(
        op.name,
        id=target.id,
        params={**target.query, **params},
        json=body,
        data=dict(form) if form else None,
        files=uploads,
    )


def call_all(
    client: DrChronoClient, target: CallTarget, *, params: Mapping[str, str]
) -> AsyncIterator[Any]:
    """Every record of a list, following next links one page at a time."""
    op = target.operation
    if op.kind is not Kind.LIST:
        raise InvalidRequest(f"--all follows the pages of a list; {op.method} {op.path} is not one")
    filters: dict[str, object] = {**target.query, **params}
    size = filters.pop("page_size", None)
    verbose = filters.pop("verbose", None)
    return client.resource(op.resource).list(
        page_size=_whole(size), verbose=None if verbose is None else verbose == "true", **filters
    )


def _whole(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise InvalidRequest("page_size must be a whole number")


def _shape(path: str) -> str:
    """The path as safe to repeat: catalog words stay, ids become {id}, anything else {?}
    (a mistyped path may hold a name or a token)."""
    known = _catalog_words()
    parts = ["{id}" if p.isdigit() else p if p in known else "{?}" for p in path.split("/")]
    return "/".join(parts)


@cache
def _catalog_words() -> frozenset[str]:
    return frozenset(part for op in CATALOG.operations for part in op.path.split("/"))


def _path_id(op: Operation, path: str) -> str | None:
    if not op.is_item:
        return None
    template, concrete = op.path.strip("/").split("/"), path.strip("/").split("/")
    return next(c for t, c in zip(template, concrete, strict=True) if t == "{id}")
