"""The mapping run backwards: practice-model values to DrChrono request fields (write-back).

A field is written back when its `from` is a plain field path, every transform has a way back,
it is not `write: false`, and DrChrono's schema does not mark the field read-only (`id`,
`updated_at`, `deleted_flag`, ...). JMESPath sources and custom fields are never written back.

Code maps are inverted; when several DrChrono codes map to one model value (UNK and ASKU both
to U), the first one listed is written back. Transforms that read the body being built (a time
converted in the doctor's zone) run after every other field, so `doctor` is already there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chronobridge.catalog import CATALOG
from chronobridge.domain.mappings._checks import FieldSpec, ModelSpec
from chronobridge.domain.mappings._compile import FieldFailed, code_text
from chronobridge.domain.mappings._transforms import TRANSFORMS, MappingContext, Rejected, Scope
from chronobridge.errors import MappingError

__all__ = ["Reverser", "compile_reverse"]

_MISSING = object()
_STEP_ERRORS = (Rejected, TypeError, ValueError, AttributeError, OverflowError)
Step = Callable[[Any, Scope], Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Back:
    target: str
    path: tuple[str, ...]
    codes: Callable[[Any], Any] | None
    steps: tuple[tuple[str, Step], ...]
    reads: frozenset[str] = frozenset()
    """DrChrono fields of the body this field's conversion depends on (a time's `doctor`)."""

    def run(self, value: Any, scope: Scope) -> Any:
        if self.codes is not None:
            value = self.codes(value)
        for name, step in self.steps:
            try:
                value = step(value, scope)
            except _STEP_ERRORS as error:
                reason = error.reason if isinstance(error, Rejected) else "wrong type"
                raise FieldFailed(name, reason) from None
        return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Reverser:
    model: str
    fields: tuple[_Back, ...]

    @property
    def source_of(self) -> dict[str, str]:
        """Model field → the DrChrono field it is written to."""
        return {b.target: ".".join(b.path) for b in self.fields}

    def body(
        self,
        values: Mapping[str, Any],
        context: MappingContext,
        *,
        only: frozenset[str] | None = None,
    ) -> dict[str, Any]:
        """DrChrono fields for `values` (all of the model's values: times need the doctor);
        `only` keeps the DrChrono fields written from those model fields (a PATCH)."""
        body: dict[str, Any] = {}
        scope = Scope(body, values, context)
        for back in self.fields:
            value = values.get(back.target, _MISSING)
            if value is _MISSING:
                continue
            try:
                result = back.run(value, scope)
            except FieldFailed as failed:
                raise MappingError(
                    f"{self.model}.{back.target}: {failed.reason} (write-back rule: {failed.rule})",
                    model=self.model,
                    field=back.target,
                    rule=failed.rule,
                ) from None
            _put(body, back.path, result)
        if only is None:
            return body
        keep = {self.source_of[t].split(".")[0] for t in only if t in self.source_of}
        # A time written in the doctor's zone changes meaning when the doctor changes.
        keep |= {b.path[0] for b in self.fields if b.reads & keep}
        return {k: v for k, v in body.items() if k in keep}


def compile_reverse(spec: ModelSpec) -> Reverser:
    backs = [_back(f) for f in spec.fields if _writable(f, spec.source)]
    ordered = sorted(backs, key=lambda b: any(_reads_body(n) for n, _ in b.steps))
    return Reverser(model=spec.name, fields=tuple(ordered))


def _writable(spec: FieldSpec, resource: str) -> bool:
    if not (spec.write and spec.is_path and spec.source):
        return False
    if any(TRANSFORMS[c.name].reverse is None for c in spec.transforms):
        return False
    return spec.source.split(".")[0] not in _read_only(resource)


def _read_only(resource: str) -> frozenset[str]:
    schema = CATALOG.schemas.get(CATALOG.resources[resource].schema or "", {})
    properties = schema.get("properties") or {}
    return frozenset(name for name, prop in properties.items() if prop.get("readOnly"))


def _back(spec: FieldSpec) -> _Back:
    steps = []
    for call in reversed(spec.transforms):
        factory = TRANSFORMS[call.name].reverse
        assert factory is not None  # _writable checked it
        steps.append((call.name, factory(call.args)))
    assert spec.source is not None
    reads = {
        str(call.args[arg])
        for call in spec.transforms
        if (arg := TRANSFORMS[call.name].reads_source) is not None
    }
    return _Back(
        target=spec.target,
        path=tuple(spec.source.split(".")),
        codes=_inverse(spec),
        steps=tuple(steps),
        reads=frozenset(reads),
    )


def _reads_body(name: str) -> bool:
    return TRANSFORMS[name].reads_source is not None


def _inverse(spec: FieldSpec) -> Callable[[Any], Any] | None:
    if spec.codes is None:
        return None
    table: dict[Any, Any] = {}
    for code, value in spec.codes.items():
        table.setdefault(value if isinstance(value, str | type(None)) else code_text(value), code)
    unknown = spec.unknown

    def lookup(value: Any) -> Any:
        hit = table.get(
            value if isinstance(value, str | type(None)) else code_text(value), _MISSING
        )
        if hit is not _MISSING:
            return hit
        if unknown == "error":
            raise FieldFailed("codes", "the value has no DrChrono code")
        return value if unknown == "keep" else None

    return lookup


def _put(body: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = body
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
