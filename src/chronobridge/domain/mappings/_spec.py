"""The mapping file format, checked: every problem names the line, the place and the fix.

    version: 3                       # bump on every change; rows record the version used
    models:
      patient:                       # the practice-model name
        source: patients             # a DrChrono resource of the catalog
        key: id                      # the field that becomes external_id
        include_all: false           # true: also copy every unmapped top-level field as is
        fields:
          first_name: first_name     # shorthand for {from: first_name}
          gender: {from: gender, codes: {Male: M, Female: F}, unknown: error, default: U}
          phone_home: {from: home_phone, transform: e164}
          start_time: {from: scheduled_time, transform: {name: datetime_local_to_utc}}
        custom_fields:
          - {name: referral, from: "custom_demographics[?field_type==`12`].value | [0]"}

`from` is a field path (`address`, `a.b`) or any JMESPath expression; a path must name a field
of the resource's schema unless `check: false` (for fields DrChrono sends but does not document).
Field options: `transform` (a name, a `{name: ..., arg: ...}` mapping,
or a list of either), `codes`, `unknown` (error | keep | null), `default`, `required`, `write`.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from chronobridge.domain.mappings._checks import (
    PATH,
    Bad,
    FieldSpec,
    MappingSpec,
    ModelSpec,
    TransformCall,
    flag,
    keys,
    mapping,
    resource,
)
from chronobridge.domain.mappings._fields import field
from chronobridge.domain.mappings._yaml import Located, YamlProblem, load
from chronobridge.errors import MappingFileInvalid

__all__ = ["FieldSpec", "MappingSpec", "ModelSpec", "TransformCall", "parse"]

TARGET = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*")
MODEL = re.compile(r"[a-z][a-z0-9_]*")
_TOP = ("version", "description", "models")
_MODEL_KEYS = ("source", "key", "description", "include_all", "fields", "custom_fields")


def parse(text: str, *, origin: str = "") -> MappingSpec:
    """The checked spec of a mapping file's text; MappingFileInvalid on the first problem."""
    try:
        data = load(text)
        return _top(data)
    except YamlProblem as problem:
        raise MappingFileInvalid(problem.reason, origin=origin, line=problem.line) from None
    except Bad as bad:
        raise MappingFileInvalid(
            bad.reason, origin=origin, line=bad.line, where=bad.where
        ) from None


def _top(data: Any) -> MappingSpec:
    root = mapping(data, where="the file", line=1)
    keys(root, _TOP, where="the file")
    version = root.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise Bad(
            "`version` must be a whole number of 1 or more",
            line=root.line_of("version"),
            where="version",
        )
    models = mapping(root.get("models"), where="models", line=root.line_of("models"))
    if not models:
        raise Bad("at least one model is needed", line=root.line_of("models"), where="models")
    specs = tuple(_model(name, models[name], line=models.line_of(name)) for name in models)
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return MappingSpec(
        version=version,
        models=specs,
        digest=digest[:16],
        description=str(root.get("description") or ""),
    )


def _model(name: str, value: Any, *, line: int) -> ModelSpec:
    where = f"models.{name}"
    if not MODEL.fullmatch(name):
        raise Bad("a model name is lower-case letters, digits and _", line=line, where=where)
    spec = mapping(value, where=where, line=line)
    keys(spec, _MODEL_KEYS, where=where)
    source = resource(spec.get("source"), where=f"{where}.source", line=spec.line_of("source"))
    key = spec.get("key", "id")
    if not isinstance(key, str) or not PATH.fullmatch(key):
        raise Bad(
            "`key` must be a field path such as id", line=spec.line_of("key"), where=f"{where}.key"
        )
    include_all = flag(spec, "include_all", where=where)
    fields = _fields(spec, source=source, where=where)
    taken = {f.target for f in fields}
    custom = _custom(spec, source=source, where=where, taken=taken)
    if not fields and not include_all:
        raise Bad("a model needs `fields` (or include_all: true)", line=line, where=where)
    return ModelSpec(
        name=name,
        source=source,
        key=key,
        fields=fields,
        custom_fields=custom,
        include_all=include_all,
    )


def _fields(spec: Located, *, source: str, where: str) -> tuple[FieldSpec, ...]:
    if "fields" not in spec:
        return ()
    fields = mapping(spec["fields"], where=f"{where}.fields", line=spec.line_of("fields"))
    out: list[FieldSpec] = []
    for target in fields:
        place, line = f"{where}.fields.{target}", fields.line_of(target)
        if not TARGET.fullmatch(target):
            raise Bad(
                "a target field is lower-case names joined by dots, such as address.city",
                line=line,
                where=place,
            )
        earlier = frozenset(f.target for f in out)
        out.append(
            field(target, fields[target], source=source, where=place, line=line, earlier=earlier)
        )
    return tuple(out)


def _custom(spec: Located, *, source: str, where: str, taken: set[str]) -> tuple[FieldSpec, ...]:
    items = spec.get("custom_fields") or []
    if not isinstance(items, list):
        raise Bad(
            "`custom_fields` must be a list",
            line=spec.line_of("custom_fields"),
            where=f"{where}.custom_fields",
        )
    out: list[FieldSpec] = []
    for index, item in enumerate(items):
        place = f"{where}.custom_fields[{index}]"
        entry = mapping(item, where=place, line=spec.line_of("custom_fields"))
        name = entry.get("name")
        if not isinstance(name, str) or not TARGET.fullmatch(name):
            raise Bad(
                "each custom field needs a `name` (lower-case, digits, _)",
                line=entry.line,
                where=place,
            )
        if name in taken:
            raise Bad(
                f"custom field {name!r} is already a field of this model",
                line=entry.line_of("name"),
                where=place,
            )
        taken.add(name)
        body = Located({k: v for k, v in entry.items() if k != "name"})
        body.line, body.key_lines = entry.line, entry.key_lines
        out.append(
            field(name, body, source=source, where=place, line=entry.line, earlier=frozenset())
        )
    return tuple(out)
