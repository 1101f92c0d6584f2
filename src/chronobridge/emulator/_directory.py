"""DrChrono's App Directory: who has connected which application, and deauthorization.

Facts §1 / DESIGN §1: a token belongs to one user; a provider's deauthorization removes the app
for the provider and the provider's staff; a staff member's removes it for that staff member and
drops the iframe registration of the provider group. Deauthorizing for someone else needs the
App Directory permission (and the same practice).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from chronobridge.emulator._control_input import ControlError, as_object, read_json
from chronobridge.emulator._pages import error_page, render
from chronobridge.emulator._state import MANAGE_APP_DIRECTORY, App, EmulatorState, User


class DirectoryError(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


@dataclass(frozen=True, slots=True)
class Row:
    app: App
    user: User


def routes(state: EmulatorState) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        acting = state.user_by_name(request.query_params.get("user", ""))
        return render(
            "directory.html",
            users=sorted(state.users.values(), key=lambda u: u.id),
            acting=acting,
            rows=visible_rows(state, acting) if acting else [],
            message=request.query_params.get("message"),
        )

    async def page_deauthorize(request: Request) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        try:
            result = deauthorize(state, form)
        except DirectoryError as exc:
            return error_page("Not allowed", exc.message, status_code=exc.status_code)
        message = f"Removed {result['client_id']} for {', '.join(result['users'])}."
        query = urlencode({"user": form.get("acting_user", ""), "message": message})
        return RedirectResponse(f"/app-directory/?{query}", status_code=303)

    async def api_deauthorize(request: Request) -> Response:
        try:
            body = as_object(await read_json(request))
            return JSONResponse(deauthorize(state, body))
        except ControlError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)
        except DirectoryError as exc:
            return JSONResponse({"detail": exc.message}, status_code=exc.status_code)

    async def api_list(request: Request) -> Response:
        username = request.query_params.get("user")
        acting = state.user_by_name(username) if username else None
        if username and acting is None:
            return JSONResponse({"detail": f"no user {username!r}"}, status_code=404)
        rows = visible_rows(state, acting) if acting else all_rows(state)
        return JSONResponse({"authorizations": [row_json(r) for r in rows]})

    return [
        Route("/app-directory/", page, methods=["GET"]),
        Route("/app-directory/deauthorize", page_deauthorize, methods=["POST"]),
        Route("/_emulator/app-directory", api_list, methods=["GET"]),
        Route("/_emulator/app-directory/deauthorize", api_deauthorize, methods=["POST"]),
    ]


def background(state: EmulatorState) -> list[Callable[[], Coroutine[Any, Any, None]]]:
    return []


def deauthorize(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    """Remove an application for a user, with DrChrono's provider/staff semantics."""
    app = state.apps.get(str(body.get("client_id", "")))
    if app is None:
        raise DirectoryError(404, "no application has this client_id")
    target = _user(state, body.get("user"))
    acting = _user(state, body.get("acting_user") or body.get("user"))
    if not _may_manage(acting, target):
        raise DirectoryError(403, "only a user with the App Directory permission may do this")
    affected = [target, *state.staff_of(target.doctor)] if target.is_doctor else [target]
    revoked = sum(
        state.revoke_user_tokens(client_id=app.client_id, user_id=user.id) for user in affected
    )
    registration = (app.client_id, target.doctor)
    iframe_removed = registration in state.iframes
    state.iframes.discard(registration)
    return {
        "client_id": app.client_id,
        "users": [user.username for user in affected],
        "revoked_tokens": revoked,
        "iframe_removed": iframe_removed,
    }


def visible_rows(state: EmulatorState, acting: User) -> list[Row]:
    """The acting user's own connections, and the practice's for App Directory managers."""
    manager = acting.can(MANAGE_APP_DIRECTORY)
    return [
        row
        for row in all_rows(state)
        if row.user.id == acting.id
        or (manager and row.user.practice_group == acting.practice_group)
    ]


def all_rows(state: EmulatorState) -> list[Row]:
    rows = [
        Row(app=state.apps[client_id], user=state.users[user_id])
        for client_id, user_id in state.authorizations
        if client_id in state.apps and user_id in state.users
    ]
    return sorted(rows, key=lambda r: (r.app.client_id, r.user.id))


def row_json(row: Row) -> dict[str, Any]:
    return {
        "client_id": row.app.client_id,
        "app": row.app.name,
        "user": row.user.username,
        "user_id": row.user.id,
        "is_doctor": row.user.is_doctor,
        "doctor": row.user.doctor,
    }


def _may_manage(acting: User, target: User) -> bool:
    if acting.id == target.id:
        return True
    return acting.can(MANAGE_APP_DIRECTORY) and acting.practice_group == target.practice_group


def _user(state: EmulatorState, username: Any) -> User:
    user = state.user_by_name(str(username or ""))
    if user is None:
        raise DirectoryError(404, f"no user {username!r}")
    return user
