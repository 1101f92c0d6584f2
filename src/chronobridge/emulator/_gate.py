"""What every /api/ request passes before its handler: the bearer token, the application's
hourly window, and the scripted faults. DrChrono's exact answers are reproduced here."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from chronobridge.emulator._state import App, EmulatorState, Principal

# A header value, not a secret.
INVALID_TOKEN_HEADER = (
    'Bearer error="invalid_token",error_description="The access token is invalid."'  # noqa: S105
)


def unauthorized() -> Response:
    """Facts §1: the recorded 401 is text/html with this body and header."""
    return PlainTextResponse(
        "Authorization failed.",
        status_code=401,
        media_type="text/html",
        headers={"WWW-Authenticate": INVALID_TOKEN_HEADER},
    )


def throttled(seconds: float) -> Response:
    wait = float(max(1, math.ceil(seconds)))
    return JSONResponse(
        {"detail": f"Request was throttled. Expected available in {wait} seconds."},
        status_code=429,
    )


@dataclass(slots=True)
class RateWindows:
    """DrChrono's limit: a fixed window per application that resets at the top of the hour."""

    used: dict[tuple[str, datetime], int] = field(default_factory=lambda: defaultdict(int))

    def hit(self, app: App, now: datetime) -> float | None:
        """Count one request; seconds to wait when the application is over its limit."""
        window = now.replace(minute=0, second=0, microsecond=0)
        key = (app.client_id, window)
        if self.used[key] >= app.rate_limit:
            return (window + timedelta(hours=1) - now).total_seconds()
        self.used[key] += 1
        return None

    def usage(self, client_id: str, now: datetime) -> int:
        window = now.replace(minute=0, second=0, microsecond=0)
        return self.used.get((client_id, window), 0)


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def admit(request: Request, state: EmulatorState) -> Principal | Response:
    """Authenticate, count against the window, then let scripted faults have their say."""
    token = state.valid_token(bearer(request) or "")
    if token is None:
        return unauthorized()
    app = state.apps.get(token.client_id)
    user = state.users.get(token.user_id)
    if app is None or user is None:
        return unauthorized()
    request.state.client_id = app.client_id
    principal = Principal(app=app, user=user, scopes=token.scopes, token=token)
    wait = windows(state).hit(app, state.clock.now())
    if wait is not None:
        return throttled(wait)
    faults = state.extensions.get("faults")
    if faults is not None:
        scripted: Response | None = await faults.intercept(request, principal)
        if scripted is not None:
            return scripted
    return principal


def windows(state: EmulatorState) -> RateWindows:
    found = state.extensions.get("rate_windows")
    if found is None:
        found = state.extensions["rate_windows"] = RateWindows()
    assert isinstance(found, RateWindows)
    return found
