"""Checking one field of a mapping file: where its value comes from, and what happens to it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from chronobridge.catalog import CATALOG
from chronobridge.domain.mappings._checks import (
    PATH,
    SCALAR,
    Bad,
    FieldSpec,
    TransformCall,
    flag,
    keys,
    mapping,
    suggest,
)
from chronobridge.domain.mappings._transforms import CHOICES, TRANSFORMS
from chronobridge.domain.mappings._yaml import Located

__all__ = ["field"]

UNKNOWN = ("error", "keep", "null")
_FIELD_KEYS = ("from", "check", "transform", "codes", "unknown", "default", "required", "write")


def field(
    target: str, value: Any, *, source: str, where: str, line: int, earlier: frozenset[str]
) -> FieldSpec:
    if isinstance(value, str):
        value = Located({"from": value})
        value.line, value.key_lines = line, {}
    spec = mapping(value, where=where, line=line)
    keys(spec, _FIELD_KEYS, where=where)
    origin, is_path = _from(spec, source=source, where=where)
    codes = _codes(spec, where=where)
    unknown = spec.get("unknown", "error")
    if unknown not in UNKNOWN or ("unknown" in spec and codes is None):
        raise Bad(
            "`unknown` goes with `codes` and is one of error, keep, null",
            line=spec.line_of("unknown"),
            where=f"{where}.unknown",
        )
    default = spec.get("default")
    if not isinstance(default, SCALAR):
        raise Bad(
            "`default` must be a single value",
            line=spec.line_of("default"),
            where=f"{where}.default",
        )
    if origin is None and default is None:
        raise Bad(
            "a field needs `from` (or a `default` for a constant)", line=spec.line, where=where
        )
    calls = _transforms(spec, where=where, earlier=earlier)
    return FieldSpec(
        target=target,
        source=origin,
        is_path=is_path,
        transforms=calls,
        codes=codes,
        unknown=str(unknown),
        default=default,
        required=flag(spec, "required", where=where),
        write=flag(spec, "write", where=where, default=True),
        line=spec.line,
    )


def _from(spec: Located, *, source: str, where: str) -> tuple[str | None, bool]:
    if "from" not in spec:
        return None, False
    origin, line = spec["from"], spec.line_of("from")
    if not isinstance(origin, str) or not origin.strip():
        raise Bad(
            "`from` must be a field path or a JMESPath expression", line=line, where=f"{where}.from"
        )
    if not PATH.fullmatch(origin):
        try:
            jmespath.compile(origin)
        except JMESPathError as error:
            reason = str(error).splitlines()[0]
            raise Bad(
                f"not a valid JMESPath expression ({reason})", line=line, where=f"{where}.from"
            ) from None
        return origin, False
    if flag(spec, "check", where=where, default=True):
        _known_field(origin.split(".")[0], source=source, where=f"{where}.from", line=line)
    return origin, True


def _known_field(name: str, *, source: str, where: str, line: int) -> None:
    schema = CATALOG.resources[source].schema
    known = CATALOG.schemas.get(schema or "", {}).get("properties") or {}
    if known and name not in known:
        raise Bad(
            f"{name!r} is not a field of {source}{suggest(name, known)}"
            " (add check: false if DrChrono sends it anyway)",
            line=line,
            where=where,
        )


def _codes(spec: Located, *, where: str) -> Mapping[str, Any] | None:
    if "codes" not in spec:
        return None
    codes = mapping(spec["codes"], where=f"{where}.codes", line=spec.line_of("codes"))
    for key, value in codes.items():
        if not isinstance(value, SCALAR):
            raise Bad(
                f"code {key!r} must map to a single value",
                line=codes.line_of(key),
                where=f"{where}.codes",
            )
    if not codes:
        raise Bad("`codes` is empty", line=spec.line_of("codes"), where=f"{where}.codes")
    return dict(codes)


def _transforms(spec: Located, *, where: str, earlier: frozenset[str]) -> tuple[TransformCall, ...]:
    raw = spec.get("transform")
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    line = spec.line_of("transform")
    return tuple(
        _call(item, where=f"{where}.transform", line=line, earlier=earlier) for item in items
    )


def _call(item: Any, *, where: str, line: int, earlier: frozenset[str]) -> TransformCall:
    if isinstance(item, str):
        item = Located({"name": item})
        item.line, item.key_lines = line, {}
    entry = mapping(item, where=where, line=line)
    name = entry.get("name")
    if not isinstance(name, str) or name not in TRANSFORMS:
        shown = name if isinstance(name, str) else ""
        raise Bad(
            f"unknown transform {shown!r}{suggest(shown, TRANSFORMS)}",
            line=entry.line_of("name"),
            where=where,
        )
    transform = TRANSFORMS[name]
    args = {**transform.defaults, **{k: v for k, v in entry.items() if k != "name"}}
    for arg, value in args.items():
        _argument(name, arg, value, where=f"{where}.{name}", line=entry.line_of(arg))
    reads = transform.reads_target
    if reads is not None and args[reads] not in earlier:
        raise Bad(
            f"{name} reads target field {args[reads]!r}, which must be mapped before it",
            line=entry.line,
            where=where,
        )
    return TransformCall(name=name, args=args)


def _argument(name: str, arg: str, value: Any, *, where: str, line: int) -> None:
    params = TRANSFORMS[name].params
    if arg not in params:
        raise Bad(f"{name} takes no argument {arg!r}{suggest(arg, params)}", line=line, where=where)
    if not isinstance(value, params[arg]):
        raise Bad(f"{name}: argument {arg!r} has the wrong type", line=line, where=where)
    allowed = CHOICES.get((name, arg))
    if allowed and value not in allowed:
        raise Bad(f"{name}: {arg} is one of {', '.join(allowed)}", line=line, where=where)
