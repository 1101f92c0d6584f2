"""The control API under /_emulator/: the test harness's handles on the emulator.

Unauthenticated by design (bind the emulator to localhost). DrChrono has no such prefix.

    GET  /_emulator/health                 liveness and the emulator's time
    GET  /_emulator/stats                  request counts, rate-window usage; POST .../reset
    GET  /_emulator/clock                  POST {"advance": s} | {"set": iso} | {"freeze": bool}
    POST /_emulator/tokens/expire          {"user"?: name, "client_id"?: id}: access tokens expire
    POST /_emulator/oauth/token            {"client_id", "user", "scope"?}: authorize unattended
    PUT  /_emulator/oauth/auto-approve     {"user": name | null}
    GET|POST|DELETE /_emulator/faults      scripted faults (see _faults)
    GET  /_emulator/apps, PUT /_emulator/apps/{client_id}
    PATCH|DELETE /_emulator/records/{resource}/{id}   staff edits and deletions (see
                                           _control_records)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from chronobridge.emulator import _control_apps, _control_records
from chronobridge.emulator._control_input import (
    ControlError,
    as_object,
    boolean,
    number,
    read_json,
    text,
)
from chronobridge.emulator._faults import check, faults
from chronobridge.emulator._gate import windows
from chronobridge.emulator._oauth_grants import OAuthError, book, parse_scopes, token_body
from chronobridge.emulator._state import EmulatorState, Stats
from chronobridge.emulator._webhooks import registry

Handler = Callable[[EmulatorState, Any], Awaitable[Response] | Response]


def routes(state: EmulatorState) -> list[BaseRoute]:
    faults(state)
    table: list[tuple[str, str, Handler]] = [
        ("GET", "/_emulator/health", health),
        ("GET", "/_emulator/stats", stats),
        ("POST", "/_emulator/stats/reset", reset_stats),
        ("GET", "/_emulator/clock", clock),
        ("POST", "/_emulator/clock", move_clock),
        ("POST", "/_emulator/tokens/expire", expire_tokens),
        ("POST", "/_emulator/oauth/token", issue_token),
        ("PUT", "/_emulator/oauth/auto-approve", auto_approve),
        ("GET", "/_emulator/faults", list_faults),
        ("POST", "/_emulator/faults", add_faults),
        ("DELETE", "/_emulator/faults", reset_faults),
        *_control_apps.TABLE,
        *_control_records.TABLE,
    ]
    return [Route(path, _endpoint(state, handler), methods=[m]) for m, path, handler in table]


def background(state: EmulatorState) -> list[Callable[[], Coroutine[Any, Any, None]]]:
    return []


def _endpoint(state: EmulatorState, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """JSON in, JSON out; a ControlError (or a bad value) becomes a 4xx with its message."""

    async def endpoint(request: Request) -> Response:
        try:
            body = await _body(request)
            answer = handler(state, _Call(request, body))
            return await answer if isinstance(answer, Awaitable) else answer
        except ControlError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)
        except (OAuthError, ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"detail": _message(exc)}, status_code=400)

    return endpoint


class _Call:
    """A request's path parameters, query and JSON body."""

    def __init__(self, request: Request, body: Any) -> None:
        self.path = request.path_params
        self.query = request.query_params
        self.body = body if isinstance(body, dict) else {}
        self.raw = body


async def _body(request: Request) -> Any:
    if request.method in ("GET", "DELETE"):
        return {}
    return await read_json(request)


def _message(exc: Exception) -> str:
    if isinstance(exc, OAuthError):
        return exc.description
    return str(exc)


# --- health, stats, clock ---------------------------------------------------------------------


def health(state: EmulatorState, call: _Call) -> Response:
    return JSONResponse({"status": "ok", "now": state.clock.now().isoformat()})


def stats(state: EmulatorState, call: _Call) -> Response:
    now = state.clock.now()
    reset = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    usage = {
        app.client_id: {
            "used": windows(state).usage(app.client_id, now),
            "limit": app.rate_limit,
            "resets_in": round((reset - now).total_seconds()),
        }
        for app in state.apps.values()
    }
    return JSONResponse({**state.stats.as_json(), "rate_limit": usage})


def reset_stats(state: EmulatorState, call: _Call) -> Response:
    state.stats = Stats()
    return Response(status_code=204)


def clock(state: EmulatorState, call: _Call) -> Response:
    return JSONResponse({"now": state.clock.now().isoformat()})


def move_clock(state: EmulatorState, call: _Call) -> Response:
    """Checks every field before changing anything, and keeps the clock where datetime
    arithmetic (token lifetimes, retry schedules, date ranges) cannot overflow."""
    body = as_object(call.raw)
    if not {"freeze", "set", "advance"} & set(body):
        raise ControlError('send {"advance": seconds}, {"set": iso time} or {"freeze": bool}')
    freeze = boolean(body, "freeze", default=False) if "freeze" in body else None
    target = _aware(text(body, "set")) if "set" in body else None
    advance = number(body, "advance", 0.0, low=-MAX_ADVANCE, high=MAX_ADVANCE)
    _check_time(_moved(target or state.clock.now(), advance))
    if freeze is not None:
        state.clock.freeze(frozen=freeze)
    if target is not None:
        state.clock.set(target)
    if advance:
        state.clock.advance(timedelta(seconds=advance))
    registry(state).wake()  # retries that just fell due go out now
    return clock(state, call)


CLOCK_EARLIEST = datetime(1971, 1, 1, tzinfo=UTC)
CLOCK_LATEST = datetime(9000, 1, 1, tzinfo=UTC)
MAX_ADVANCE = (CLOCK_LATEST - CLOCK_EARLIEST).total_seconds()


def _aware(value: str | None) -> datetime:
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ControlError("set must be an ISO 8601 time, e.g. 2030-01-01T09:00:00Z") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _moved(start: datetime, seconds: float) -> datetime:
    _check_time(start)
    try:
        return start + timedelta(seconds=seconds)
    except OverflowError:  # past year 9999
        return CLOCK_LATEST


def _check_time(when: datetime) -> None:
    if not CLOCK_EARLIEST <= when < CLOCK_LATEST:
        raise ControlError("the clock must stay between 1971-01-01 and 9000-01-01 (UTC)")


# --- tokens and OAuth -------------------------------------------------------------------------


def expire_tokens(state: EmulatorState, call: _Call) -> Response:
    user = _user_id(state, call.body.get("user"))
    client_id = call.body.get("client_id")
    now = state.clock.now()
    expired = 0
    for token in state.tokens.values():
        if token.revoked or token.expires_at <= now:
            continue
        if (user is None or token.user_id == user) and client_id in (None, token.client_id):
            token.expires_at = now
            expired += 1
    return JSONResponse({"expired": expired})


def issue_token(state: EmulatorState, call: _Call) -> Response:
    """What an approved consent plus a code exchange would give, in one call."""
    app = state.apps.get(str(call.body.get("client_id", "")))
    user = _user_id(state, call.body.get("user"))
    if app is None or user is None:
        raise ControlError("client_id and user must name an application and a user", 404)
    if not app.may_authorize(state.users[user]):
        raise ControlError("this application is private to another practice", 403)
    scopes = parse_scopes(text(call.body, "scope"))
    state.revoke_user_tokens(client_id=app.client_id, user_id=user)
    token = state.issue_token(client_id=app.client_id, user_id=user, scopes=scopes)
    book(state).start_family(token)
    return JSONResponse(token_body(token), headers={"Cache-Control": "no-store"})


def auto_approve(state: EmulatorState, call: _Call) -> Response:
    name = text(call.body, "user")
    if name is not None and _user_id(state, name) is None:
        raise ControlError(f"no user {name!r}", 404)
    book(state).auto_approve = name
    return JSONResponse({"auto_approve": name})


def _user_id(state: EmulatorState, name: Any) -> int | None:
    if name is None:
        return None
    user = state.user_by_name(str(name))
    if user is None:
        raise ControlError(f"no user {name!r}", 404)
    return user.id


# --- faults -----------------------------------------------------------------------------------


def list_faults(state: EmulatorState, call: _Call) -> Response:
    return JSONResponse(faults(state).json())


def add_faults(state: EmulatorState, call: _Call) -> Response:
    """One fault description, or {"faults": [...]} for several at once."""
    specs = as_object(call.raw).get("faults", [call.raw])
    if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
        raise ControlError("faults must be a list of objects")
    checked = [check(spec) for spec in specs]  # all or nothing
    added = [faults(state).keep(script).json() for script in checked]
    return JSONResponse({"added": added}, status_code=201)


def reset_faults(state: EmulatorState, call: _Call) -> Response:
    faults(state).reset()
    return Response(status_code=204)
