"""DrChrono's OAuth 2.0 server: /o/authorize/ (a consent page), /o/token/, /o/revoke_token/.

Strict where DrChrono's library (django-oauth-toolkit) is strict: exact redirect URIs, single-use
codes that expire after 60 s, codes bound to their client, rotating refresh tokens (facts §1).
Errors before the redirect URI is known to be registered are shown as a page, never redirected.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from chronobridge.emulator._faults import faults
from chronobridge.emulator._gate import throttled, windows
from chronobridge.emulator._oauth_grants import (
    OAuthError,
    book,
    exchange_code,
    parse_scopes,
    refresh,
    revoke,
    token_body,
)
from chronobridge.emulator._pages import error_page, render
from chronobridge.emulator._state import AUTH_CODE_SECONDS, App, AuthCode, EmulatorState, new_token

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
CARRIED = ("client_id", "redirect_uri", "response_type", "scope", "state")
PKCE = ("code_challenge", "code_challenge_method")


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthRequest:
    """A validated authorization request whose redirect URI may be used for errors."""

    app: App
    redirect_uri: str
    state: str | None
    params: dict[str, str]


def install(state: EmulatorState) -> None:
    book(state)
    faults(state)


def routes(state: EmulatorState) -> list[BaseRoute]:
    install(state)

    async def authorize_page(request: Request) -> Response:
        _attribute(state, request, request.query_params.get("client_id"))
        return await authorize(state, dict(request.query_params), decision=None)

    async def authorize_post(request: Request) -> Response:
        form = await _form(request)
        _attribute(state, request, form.get("client_id"))
        return await authorize(state, form, decision=form.get("allow", ""))

    async def token(request: Request) -> Response:
        return await token_endpoint(state, request)

    async def revoke_token(request: Request) -> Response:
        return await revoke_endpoint(state, request)

    return [
        Route("/o/authorize/", authorize_page, methods=["GET"]),
        Route("/o/authorize/", authorize_post, methods=["POST"]),
        Route("/o/token/", token, methods=["POST"]),
        Route("/o/revoke_token/", revoke_token, methods=["POST"]),
    ]


def background(state: EmulatorState) -> list[Callable[[], Coroutine[Any, Any, None]]]:
    return []


def _attribute(state: EmulatorState, request: Request, client_id: str | None) -> None:
    """Count the request for its application in /_emulator/stats."""
    if client_id in state.apps:
        request.state.client_id = client_id


# --- /o/authorize/ ----------------------------------------------------------------------------


async def authorize(
    state: EmulatorState, params: dict[str, str], *, decision: str | None
) -> Response:
    found = _validate_client(state, params)
    if isinstance(found, Response):
        return found
    try:
        scopes = _validate_request(params)
    except OAuthError as exc:
        return _redirect(found, error=exc.error, error_description=exc.description)
    auto = book(state).auto_approve
    if decision is None and auto is None:
        return _consent(state, found, scopes)
    if decision is not None and decision != "Authorize":
        return _redirect(found, error="access_denied")
    username = auto if decision is None else params.get("username", "")
    return _approve(state, found, scopes, username or "")


def _validate_client(state: EmulatorState, params: Mapping[str, str]) -> AuthRequest | Response:
    app = state.apps.get(params.get("client_id", ""))
    if app is None:
        return error_page("Invalid client", "No application has this client_id.")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in app.redirect_uris:
        return error_page(
            "Invalid redirect URI", "The redirect_uri is not registered for this application."
        )
    kept = {k: params[k] for k in (*CARRIED, *PKCE) if params.get(k)}
    return AuthRequest(app=app, redirect_uri=redirect_uri, state=params.get("state"), params=kept)


def _validate_request(params: Mapping[str, str]) -> frozenset[str]:
    if params.get("response_type") != "code":
        raise OAuthError("unsupported_response_type", "only response_type=code is supported")
    method = params.get("code_challenge_method", "plain")
    if params.get("code_challenge") and method not in ("plain", "S256"):
        raise OAuthError("invalid_request", "code_challenge_method must be S256 or plain")
    return parse_scopes(params.get("scope"))


def _consent(
    state: EmulatorState, request: AuthRequest, scopes: frozenset[str], error: str | None = None
) -> Response:
    return render(
        "consent.html",
        status_code=403 if error else 200,
        app=request.app,
        scopes=sorted(scopes),
        users=sorted(state.users.values(), key=lambda u: u.id),
        hidden=request.params,
        error=error,
    )


def _approve(
    state: EmulatorState, request: AuthRequest, scopes: frozenset[str], username: str
) -> Response:
    user = state.user_by_name(username)
    if user is None:
        return _consent(state, request, scopes, error=f"There is no user {username!r}.")
    app = request.app
    if not app.may_authorize(user):
        return error_page(
            "Application not available",
            "This application is private to another practice; you cannot authorize it.",
            status_code=403,
        )
    code = AuthCode(
        code=new_token(),
        client_id=app.client_id,
        user_id=user.id,
        redirect_uri=request.redirect_uri,
        scopes=scopes,
        expires_at=state.clock.now() + timedelta(seconds=AUTH_CODE_SECONDS),
    )
    state.codes[code.code] = code
    challenge = request.params.get("code_challenge")
    if challenge:
        method = request.params.get("code_challenge_method", "plain")
        book(state).pkce[code.code] = (challenge, method)
    return _redirect(request, code=code.code)


def _redirect(request: AuthRequest, **params: str) -> Response:
    if request.state is not None:
        params["state"] = request.state
    separator = "&" if "?" in request.redirect_uri else "?"
    return RedirectResponse(f"{request.redirect_uri}{separator}{urlencode(params)}", 302)


# --- /o/token/ and /o/revoke_token/ -----------------------------------------------------------


async def token_endpoint(state: EmulatorState, request: Request) -> Response:
    form = await _form(request)
    admitted = await _admit_client(state, request, form)
    if isinstance(admitted, Response):
        return admitted
    grant = form.get("grant_type")
    try:
        if grant == "authorization_code":
            token = exchange_code(state, admitted, form)
        elif grant == "refresh_token":
            token = refresh(state, admitted, form)
        elif not grant:
            raise OAuthError("invalid_request", "missing parameter: grant_type")
        else:
            raise OAuthError("unsupported_grant_type", "use authorization_code or refresh_token")
    except OAuthError as exc:
        return oauth_error(exc)
    return JSONResponse(token_body(token), headers=NO_STORE)


async def revoke_endpoint(state: EmulatorState, request: Request) -> Response:
    form = await _form(request)
    try:
        app = authenticate_client(state, request, form)
        revoke(state, app, form)
    except OAuthError as exc:
        return oauth_error(exc)
    return Response(status_code=200)


async def _admit_client(
    state: EmulatorState, request: Request, form: dict[str, str]
) -> App | Response:
    """Client authentication, then the app's hourly window, then scripted faults."""
    try:
        app = authenticate_client(state, request, form)
    except OAuthError as exc:
        return oauth_error(exc)
    request.state.client_id = app.client_id
    wait = windows(state).hit(app, state.clock.now())
    if wait is not None:
        return throttled(wait)
    scripted = await faults(state).intercept(request, None)
    return scripted if scripted is not None else app


def authenticate_client(state: EmulatorState, request: Request, form: dict[str, str]) -> App:
    """Client credentials from HTTP Basic or the form body (both are accepted by DrChrono)."""
    client_id, secret = _basic(request) or (form.get("client_id"), form.get("client_secret"))
    app = state.apps.get(client_id or "")
    if app is None or not secret or not _same(secret, app.client_secret):
        raise OAuthError("invalid_client", "client authentication failed", status_code=401)
    return app


def oauth_error(exc: OAuthError) -> Response:
    return JSONResponse(
        {"error": exc.error, "error_description": exc.description},
        status_code=exc.status_code,
        headers=NO_STORE,
    )


def _basic(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "malformed Basic credentials", status_code=401) from None
    client_id, _, secret = decoded.partition(":")
    return unquote(client_id), unquote(secret)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}
