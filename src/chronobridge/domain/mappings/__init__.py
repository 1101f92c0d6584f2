"""Field mappings are data: a versioned YAML file maps DrChrono records to the practice model.

    mapping = default_mapping()                  # or load_mapping(text, origin="practice.yaml")
    context = MappingContext(timezones=TimeZones.from_doctors(doctor_records))
    row = apply(mapping, "patients", record, context)     # MappedRow, or MappingError
    body = reverse(mapping, "patient", row.values, context)   # DrChrono fields, for write-back

The file format, the default file and how to change it: docs/mappings.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from chronobridge.domain.mappings._checks import FieldSpec, MappingSpec, ModelSpec
from chronobridge.domain.mappings._compile import CompiledModel, MappedRow, compile_model
from chronobridge.domain.mappings._reverse import Reverser, compile_reverse
from chronobridge.domain.mappings._spec import parse
from chronobridge.domain.mappings._transforms import TRANSFORMS, MappingContext, Transform
from chronobridge.errors import MappingError

__all__ = [
    "TRANSFORMS",
    "CompiledMapping",
    "FieldSpec",
    "MappedRow",
    "MappingContext",
    "MappingSpec",
    "ModelSpec",
    "Transform",
    "apply",
    "apply_all",
    "default_mapping",
    "load_mapping",
    "reverse",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class CompiledMapping:
    """A checked and compiled mapping file: build once, apply to any number of records."""

    spec: MappingSpec
    models: Mapping[str, CompiledModel]
    reversers: Mapping[str, Reverser]
    by_resource: Mapping[str, tuple[CompiledModel, ...]]

    @property
    def version(self) -> int:
        return self.spec.version

    @property
    def digest(self) -> str:
        """A hash of the file's content: tells two files with the same version apart."""
        return self.spec.digest

    def maps(self, resource: str) -> bool:
        return resource in self.by_resource

    def model(self, name: str) -> CompiledModel:
        try:
            return self.models[name]
        except KeyError:
            raise MappingError(
                f"no model named {name} in the mapping (rule: model)", model=name, rule="model"
            ) from None

    def for_resource(self, resource: str, *, model: str | None = None) -> CompiledModel:
        found = self.by_resource.get(resource, ())
        if model is not None:
            found = tuple(m for m in found if m.spec.name == model)
        if len(found) != 1:
            why = "no model maps" if not found else "several models map"
            raise MappingError(
                f"{why} {resource}; name the model (rule: model)", model=model or "", rule="model"
            )
        return found[0]


def load_mapping(text: str, *, origin: str = "") -> CompiledMapping:
    """Check and compile a mapping file's text; MappingFileInvalid names the line on a problem."""
    spec = parse(text, origin=origin)
    models = {
        m.name: compile_model(m, version=spec.version, digest=spec.digest) for m in spec.models
    }
    by_resource: dict[str, list[CompiledModel]] = {}
    for compiled in models.values():
        by_resource.setdefault(compiled.spec.source, []).append(compiled)
    return CompiledMapping(
        spec=spec,
        models=models,
        reversers={m.name: compile_reverse(m) for m in spec.models},
        by_resource={k: tuple(v) for k, v in by_resource.items()},
    )


def default_text() -> str:
    """The text of the default mapping file shipped with chronobridge."""
    return resources.files(__package__).joinpath("default.yaml").read_text(encoding="utf-8")


@cache
def default_mapping() -> CompiledMapping:
    """The default mapping (DESIGN §4), compiled once per process."""
    return load_mapping(default_text(), origin="default.yaml")


def apply(
    mapping: CompiledMapping,
    resource: str,
    record: Mapping[str, Any],
    context: MappingContext,
    *,
    model: str | None = None,
) -> MappedRow:
    """Map one DrChrono record; MappingError names the model, field and rule (never a value)."""
    return mapping.for_resource(resource, model=model).apply(record, context)


def apply_all(
    mapping: CompiledMapping, resource: str, record: Mapping[str, Any], context: MappingContext
) -> tuple[MappedRow, ...]:
    """Every model that maps `resource` (none when the resource is kept only raw)."""
    return tuple(m.apply(record, context) for m in mapping.by_resource.get(resource, ()))


def reverse(
    mapping: CompiledMapping,
    model: str,
    values: Mapping[str, Any],
    context: MappingContext,
    *,
    only: frozenset[str] | None = None,
) -> dict[str, Any]:
    """DrChrono request fields for practice-model `values` (see `Reverser.body`)."""
    mapping.model(model)
    return mapping.reversers[model].body(values, context, only=only)
