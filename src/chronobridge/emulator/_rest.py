"""DrChrono's REST API under /api/: one dispatcher driven by the catalog.

Every request is resolved to a catalog operation, then passes, in DRF's order: the gate (token,
hourly window, scripted faults: `_gate.admit`), 405 for a method the path lacks, the OAuth scope,
the user's in-app permission; then the handler of the operation's kind runs. Only DrChrono's own
special endpoints (sub-actions, `/api/users/current`, batches) have handlers of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from chronobridge.catalog import CATALOG, Kind, Operation, scope_allows
from chronobridge.emulator import _actions, _batches, _crud, _listing
from chronobridge.emulator._call import Call, Handler
from chronobridge.emulator._gate import admit
from chronobridge.emulator._http import forbidden, method_not_allowed, not_found
from chronobridge.emulator._serialize import webhook_serializer
from chronobridge.emulator._state import EmulatorState, User

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]

BY_KIND: dict[Kind, Handler] = {
    Kind.LIST: _listing.list_records,
    Kind.GET: _crud.get,
    Kind.CREATE: _crud.create,
    Kind.UPDATE: _crud.update,
    Kind.PATCH: _crud.update,
    Kind.DELETE: _crud.delete,
    Kind.BATCH_SUBMIT: _batches.submit,
    Kind.BATCH_FETCH: _batches.fetch,
}


def routes(state: EmulatorState) -> list[BaseRoute]:
    state.extensions["serializer"] = webhook_serializer(state)

    async def endpoint(request: Request) -> Response:
        return await dispatch(state, request)

    return [
        Route("/api", endpoint, methods=METHODS),
        Route("/api/{rest:path}", endpoint, methods=METHODS),
    ]


def background(state: EmulatorState) -> list[Callable[[], Coroutine[Any, Any, None]]]:
    return []


@cache
def _index() -> dict[str, dict[str, Operation]]:
    """Operations by path template, then by method."""
    out: dict[str, dict[str, Operation]] = {}
    for op in CATALOG.operations:
        out.setdefault(op.path, {})[op.method] = op
    return out


def resolve(path: str) -> tuple[dict[str, Operation], str | None] | None:
    """The operations of a concrete path and its `{id}` segment; literal paths win."""
    parts = path.rstrip("/").split("/")
    index = _index()
    found = index.get("/".join(parts))
    if found is not None:
        return found, None
    if len(parts) >= 4 and parts[3]:
        found = index.get("/".join([*parts[:3], "{id}", *parts[4:]]))
        if found is not None:
            return found, parts[3]
    return None


async def dispatch(state: EmulatorState, request: Request) -> Response:
    resolved = resolve(request.url.path)
    if resolved is None:
        return not_found()
    ops, raw_id = resolved
    principal = await admit(request, state)
    if isinstance(principal, Response):
        return principal
    method = "GET" if request.method == "HEAD" else request.method
    op = ops.get(method)
    if op is None:
        return method_not_allowed(request.method, tuple(sorted(ops)))
    if not scope_allows(op, principal.scopes) or not permitted(op, principal.user):
        return forbidden()
    call = Call(state=state, principal=principal, op=op, request=request, raw_id=raw_id)
    return await handler(op)(call)


def permitted(op: Operation, user: User) -> bool:
    """DrChrono's second gate: the user holds one of the operation's in-app permissions."""
    return not op.permissions or any(user.can(p) for p in op.permissions)


def handler(op: Operation) -> Handler:
    if op.kind is Kind.ACTION:
        return _actions.HANDLERS[(op.method, op.path)]
    return BY_KIND[op.kind]
