"""The vocabulary of the catalog: operations, parameters and resources.

Values only. `_generated.py` is a table of these, written by `tools/gen_catalog.py` from
DrChrono's OpenAPI document with the corrections of `_overlay.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

ParamType = Literal["string", "integer", "number", "boolean", "array", "object"]


class Kind(StrEnum):
    """What an operation does; the client and the emulator dispatch on this."""

    LIST = "list"
    GET = "get"
    CREATE = "create"
    UPDATE = "update"
    PATCH = "patch"
    DELETE = "delete"
    ACTION = "action"
    BATCH_SUBMIT = "batch_submit"
    BATCH_FETCH = "batch_fetch"


READ_KINDS = frozenset({Kind.LIST, Kind.GET, Kind.BATCH_SUBMIT, Kind.BATCH_FETCH})


@dataclass(frozen=True, slots=True, kw_only=True)
class Param:
    name: str
    location: Literal["query", "path"] = "query"
    type: ParamType = "string"
    required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    enum: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    """One method on one path of the API."""

    name: str
    resource: str
    kind: Kind
    method: str
    path: str
    summary: str = ""
    action: str | None = None
    scopes: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    practice_access: str = ""
    params: tuple[Param, ...] = ()
    schema: str | None = None
    body_schema: str | None = None
    body_media: tuple[str, ...] = ("application/json",)
    response_media: str = "application/json"
    success_status: int = 200
    paginated: bool = False
    since_param: str | None = None
    page_size_default: int | None = None
    page_size_max: int | None = None
    verbose_page_size_max: int | None = None
    required_one_of: tuple[str, ...] = ()
    id_type: Literal["integer", "string"] = "integer"
    source: Literal["document", "overlay"] = "document"

    @property
    def is_read(self) -> bool:
        return self.kind in READ_KINDS or (self.kind is Kind.ACTION and self.method == "GET")

    @property
    def is_item(self) -> bool:
        return "{id}" in self.path

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    @property
    def query_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.location == "query")


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookEvent:
    """A DrChrono webhook event and the resource whose object it carries."""

    name: str
    resource: str
    change: Literal["created", "updated", "deleted", "locked", "unlocked", "ping"]
    aliases: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    """Every operation that shares a collection path, plus what they imply together."""

    name: str
    path: str
    operations: tuple[Operation, ...]
    schema: str | None = None
    id_type: Literal["integer", "string"] = "integer"
    since_param: str | None = None
    batch: str | None = None
    batch_of: str | None = None
    events: tuple[WebhookEvent, ...] = field(default=())

    @property
    def item_path(self) -> str:
        return f"{self.path}/{{id}}"

    def op(self, kind: Kind, action: str | None = None) -> Operation | None:
        for operation in self.operations:
            if operation.kind is kind and operation.action == action:
                return operation
        return None

    @property
    def kinds(self) -> frozenset[Kind]:
        return frozenset(o.kind for o in self.operations)

    @property
    def pollable(self) -> bool:
        return self.since_param is not None
