"""The catalog of DrChrono's API v4: one table that the client, the emulator, the sync engine,
the triggers, the actions, the docs and the contract tests all read.

Pure data: no I/O library is imported here (enforced by import-linter).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from importlib import resources as _files
from typing import Any

from chronobridge.catalog._actions import action_spec
from chronobridge.catalog._events import PING, WEBHOOK_EVENTS
from chronobridge.catalog._generated import OPERATIONS
from chronobridge.catalog._model import (
    READ_KINDS,
    Kind,
    Operation,
    Param,
    Resource,
    WebhookEvent,
)

__all__ = [
    "CATALOG",
    "PING",
    "READ_KINDS",
    "SCOPES",
    "Catalog",
    "Kind",
    "Operation",
    "Param",
    "Resource",
    "WebhookEvent",
    "scope_allows",
]

# The 22 scopes of DrChrono's authorization server (facts §1).
SCOPES: tuple[str, ...] = (
    "user:read", "user:write", "calendar:read", "calendar:write", "patients:read",
    "patients:write", "patients:summary:read", "patients:summary:write", "clinical:read",
    "clinical:write", "labs:read", "labs:write", "messages:read", "messages:write",
    "tasks:read", "tasks:write", "settings:read", "settings:write", "billing:read",
    "billing:write", "billing:patient-payment:read", "billing:patient-payment:write",
)  # fmt: skip


@dataclass(frozen=True)
class Catalog:
    """Indexes over the generated operations."""

    operations: tuple[Operation, ...]
    events: tuple[WebhookEvent, ...]

    @cached_property
    def _by_name(self) -> dict[str, Operation]:
        return {op.name: op for op in self.operations}

    @cached_property
    def resources(self) -> dict[str, Resource]:
        grouped: dict[str, list[Operation]] = {}
        for op in self.operations:
            grouped.setdefault(op.resource, []).append(op)
        return {name: self._resource(name, ops) for name, ops in sorted(grouped.items())}

    def _resource(self, name: str, ops: list[Operation]) -> Resource:
        main = next((o for o in ops if o.kind is Kind.LIST), None) or next(
            (o for o in ops if o.schema), None
        )
        since = next((o.since_param for o in ops if o.kind is Kind.LIST and o.since_param), None)
        batch_name = f"{name}_list"
        has_batch = any(
            o.resource == batch_name and o.kind is Kind.BATCH_SUBMIT for o in self.operations
        )
        is_batch = any(o.kind is Kind.BATCH_SUBMIT for o in ops)
        return Resource(
            name=name,
            path=f"/api/{name}",
            operations=tuple(ops),
            schema=main.schema if main else None,
            id_type=next((o.id_type for o in ops if o.is_item), "integer"),
            since_param=since,
            batch=batch_name if has_batch else None,
            batch_of=name.removesuffix("_list") if is_batch else None,
            events=tuple(e for e in self.events if e.resource == name),
        )

    def operation(self, name: str) -> Operation:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no operation named {name!r} in the catalog") from None

    def resource(self, name: str) -> Resource:
        try:
            return self.resources[name]
        except KeyError:
            raise KeyError(f"no resource named {name!r} in the catalog") from None

    def find(self, method: str, path: str) -> Operation | None:
        """The operation that serves a concrete request path, e.g. GET /api/patients/12."""
        wanted = _segments(path)
        for op in self._by_method.get(method.upper(), ()):
            if _matches(_segments(op.path), wanted):
                return op
        return None

    @cached_property
    def _by_method(self) -> dict[str, tuple[Operation, ...]]:
        out: dict[str, list[Operation]] = {}
        # Literal paths win over templated ones (/api/users/current before /api/users/{id}).
        for op in sorted(self.operations, key=lambda o: "{" in o.path):
            out.setdefault(op.method, []).append(op)
        return {m: tuple(ops) for m, ops in out.items()}

    def methods_for(self, path: str) -> tuple[str, ...]:
        wanted = _segments(path)
        return tuple(
            sorted({op.method for op in self.operations if _matches(_segments(op.path), wanted)})
        )

    @cached_property
    def pollable(self) -> tuple[Resource, ...]:
        """Every resource whose list takes a change cursor (`since` or `updated_since`)."""
        return tuple(r for r in self.resources.values() if r.pollable and not r.batch_of)

    def event(self, name: str) -> WebhookEvent | None:
        for event in self.events:
            if name == event.name or name in event.aliases:
                return event
        return None

    @cached_property
    def schemas(self) -> dict[str, Any]:
        text = _files.files(__package__).joinpath("schemas.json").read_text(encoding="utf-8")
        loaded: dict[str, Any] = json.loads(text)
        return loaded

    def schema(self, name: str) -> dict[str, Any]:
        return dict(self.schemas[name])

    def verbose_fields(self, schema_name: str | None) -> tuple[str, ...]:
        if not schema_name:
            return ()
        return tuple(self.schemas.get(schema_name, {}).get("x-verbose-required") or ())

    def required_fields(self, schema_name: str | None) -> tuple[str, ...]:
        if not schema_name:
            return ()
        return tuple(self.schemas.get(schema_name, {}).get("required") or ())

    def actions(self) -> list[dict[str, Any]]:
        """Every operation as an action (name, resource, method, path, scopes, input schema)."""
        return [action_spec(op, self.schemas) for op in self.operations]

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations)

    def __len__(self) -> int:
        return len(self.operations)


def scope_allows(op: Operation, granted: frozenset[str] | set[str]) -> bool:
    """DrChrono's first gate: a read needs any listed scope, a write a listed `:write` scope."""
    if not op.scopes:
        return True
    if op.is_read:
        return any(scope in granted for scope in op.scopes)
    writes = [s for s in op.scopes if s.endswith(":write")] or list(op.scopes)
    return any(scope in granted for scope in writes)


def _segments(path: str) -> list[str]:
    return path.rstrip("/").split("/")


def _matches(template: list[str], concrete: list[str]) -> bool:
    if len(template) != len(concrete):
        return False
    return all(t == c or (t.startswith("{") and c) for t, c in zip(template, concrete, strict=True))


CATALOG = Catalog(operations=OPERATIONS, events=WEBHOOK_EVENTS)
