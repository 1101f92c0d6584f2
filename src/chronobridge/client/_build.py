"""Turn a catalog operation and the caller's arguments into one outgoing request, or refuse.

What the catalog knows is checked before anything is sent (a call refused here costs no budget):
the path id and its type, required query parameters, `required_one_of` (the appointment list
needs one of since/occurred_since/date/date_range) and the page size limit (capped, never
above the operation's maximum; the verbose maximum when verbose). Unknown filters are passed
through, because the document omits some real ones (`allow_overlapping`). Error texts name
operations and parameters, never values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from chronobridge.catalog import CATALOG, Operation
from chronobridge.domain.error_text import sent_values
from chronobridge.errors import InvalidRequest

__all__ = ["Outgoing", "build", "build_raw", "encode_params", "page_size_max", "template_for"]

Query = tuple[tuple[str, str], ...]
_ID_SEGMENT = re.compile(r"/(\d+|\d{4}-\d{2}-\d{2}_\d+)(?=/|$)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Outgoing:
    """One request as the client sends it. `url` is relative to the base URL."""

    method: str
    url: str
    template: str
    operation: str | None = None
    media: str = "application/json"
    params: Query = ()
    json: Any = None
    data: Mapping[str, Any] | None = None
    files: Any = None
    sent: frozenset[str] = field(default=frozenset(), repr=False)

    def to(self, url: str) -> Outgoing:
        """The same request sent to another URL (a redirect or a next link)."""
        path = url.split("?", 1)[0]
        op = CATALOG.find(self.method, path)
        name = op.name if op else None
        template = template_for(self.method, path)
        return replace(self, url=url, params=(), template=template, operation=name)


def build(
    op: Operation,
    *,
    id: object = None,
    params: Mapping[str, object] | None = None,
    json: Any = None,
    data: Mapping[str, Any] | None = None,
    files: Any = None,
) -> Outgoing:
    query = dict(encode_params(params or {}))
    if id is not None and not op.is_item and op.param("id") is not None:
        query["id"] = _id_text(op, id)  # signed_consent_forms takes its id in the query
        id = None
    _check(op, id=id, query=query)
    _cap_page_size(op, query)
    return Outgoing(
        method=op.method,
        url=_path(op, id),
        template=op.path,
        operation=op.name,
        media=op.response_media,
        params=tuple(query.items()),
        json=json,
        data=data,
        files=files,
        sent=sent_values(json, data, params) if (json or data or params) else frozenset(),
    )


def build_raw(
    method: str,
    path: str,
    *,
    params: Mapping[str, object] | None = None,
    json: Any = None,
    data: Mapping[str, Any] | None = None,
    files: Any = None,
) -> Outgoing:
    """A request to any path on the base URL; the catalog only names its template."""
    if not path.startswith("/") or path.startswith("//"):
        raise InvalidRequest("request() takes a path on the DrChrono base URL, like /api/x.")
    method = method.upper()
    op = CATALOG.find(method, path.split("?", 1)[0])
    return Outgoing(
        method=method,
        url=path,
        template=template_for(method, path),
        operation=op.name if op else None,
        media=op.response_media if op else "application/json",
        params=encode_params(params or {}),
        json=json,
        data=data,
        files=files,
        sent=sent_values(json, data, params),
    )


def encode_params(params: Mapping[str, object]) -> Query:
    """Query values as DrChrono reads them; None is dropped, booleans are true/false."""
    out: list[tuple[str, str]] = []
    for name, value in params.items():
        if value is not None:
            out.append((name, _encode(name, value)))
    return tuple(out)


def template_for(method: str, path: str) -> str:
    """The catalog template of a concrete path; numeric segments become {id} otherwise."""
    op = CATALOG.find(method, path)
    return op.path if op else _ID_SEGMENT.sub("/{id}", path.split("?", 1)[0])


def _encode(name: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list | tuple) and all(isinstance(v, str | int) for v in value):
        return ",".join(str(v) for v in value)
    raise InvalidRequest(f"Query parameter {name!r} must be text, a number, a date or a boolean.")


def _check(op: Operation, *, id: object, query: dict[str, str]) -> None:
    if op.is_item and id is None:
        raise InvalidRequest(f"{op.name} needs an id ({op.method} {op.path}).")
    missing = [p.name for p in op.query_params if p.required and p.name not in query]
    if missing:
        raise InvalidRequest(f"{op.name} needs the query parameter(s) {', '.join(missing)}.")
    if op.required_one_of and not any(name in query for name in op.required_one_of):
        names = ", ".join(op.required_one_of)
        raise InvalidRequest(f"{op.name} needs one of these filters: {names}.")


def _cap_page_size(op: Operation, query: dict[str, str]) -> None:
    if "page_size" not in query:
        return
    try:
        size = int(query["page_size"])
    except ValueError:
        raise InvalidRequest(f"{op.name}: page_size must be a whole number.") from None
    if size < 1:
        raise InvalidRequest(f"{op.name}: page_size must be at least 1.")
    query["page_size"] = str(min(size, page_size_max(op, verbose=query.get("verbose") == "true")))


def page_size_max(op: Operation, *, verbose: bool) -> int:
    """The largest page DrChrono serves for this operation (250 lists, 1,000 batches)."""
    if verbose and op.verbose_page_size_max:
        return op.verbose_page_size_max
    return op.page_size_max or 250


def _path(op: Operation, id: object) -> str:
    if not op.is_item:
        return op.path
    return op.path.replace("{id}", quote(_id_text(op, id), safe=""))


def _id_text(op: Operation, id: object) -> str:
    if isinstance(id, bool) or not isinstance(id, int | str):
        raise InvalidRequest(f"{op.name}: the id must be an integer or a string.")
    text = str(id)
    if not text or (op.id_type == "integer" and not text.isdigit()):
        raise InvalidRequest(f"{op.name} needs an {op.id_type} id.")
    return text
