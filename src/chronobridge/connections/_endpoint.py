"""DrChrono's token and revocation endpoints: exchange a code, refresh, revoke (facts §1).

Client credentials go in the form body, as DrChrono documents. Every answer becomes a value or
an error of the tree whose text names the application and the step, never a token, a secret,
a code or DrChrono's own description (which could echo what we sent). Budget reservations are
the caller's job: a refresh reserves before it takes the token lock.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx2

from chronobridge.client import CallObserver, CallRecord, Priority, error_for
from chronobridge.connections._hints import from_environment, setting_hint
from chronobridge.connections._services import Services
from chronobridge.errors import (
    InvalidClient,
    InvalidGrant,
    OAuthError,
    ServerError,
    TransportError,
    UnexpectedResponse,
)
from chronobridge.store import App, TokenPair

__all__ = ["Grant", "TokenEndpoint"]

TOKEN_PATH = "/o/token/"  # noqa: S105 - a path, not a password
REVOKE_PATH = "/o/revoke_token/"
_ERROR_CODE = re.compile(r"[a-z_]{1,40}")


@dataclass(frozen=True, kw_only=True)
class Grant:
    """A token answer: the pair and the scopes DrChrono granted."""

    pair: TokenPair
    scopes: tuple[str, ...]


class TokenEndpoint:
    """The OAuth endpoints of one application's DrChrono."""

    def __init__(self, services: Services, app: App) -> None:
        self._services = services
        self.app = app

    async def exchange(
        self, code: str, *, redirect_uri: str, code_verifier: str, observer: CallObserver | None
    ) -> Grant:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
        return await self._grant(form, observer, step="the authorization code")

    async def refresh(self, refresh_token: str, *, observer: CallObserver | None) -> Grant:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return await self._grant(form, observer, step="the refresh token")

    async def revoke(self, token: str, *, hint: str, observer: CallObserver | None) -> None:
        """RFC 7009 revocation; DrChrono answers 200 even for a token it does not know."""
        form = {"token": token, "token_type_hint": hint}
        response = await self._post(REVOKE_PATH, form, observer)
        if response.status_code != 200:
            raise self._failure(response, REVOKE_PATH, step="the revocation")

    # --- the exchange ------------------------------------------------------------------------

    async def _grant(self, form: dict[str, str], observer: CallObserver | None, step: str) -> Grant:
        sent_at = self._services.now()
        response = await self._post(TOKEN_PATH, form, observer)
        if response.status_code != 200:
            raise self._failure(response, TOKEN_PATH, step=step)
        return self._parse(response, sent_at)

    async def _post(
        self, path: str, form: dict[str, str], observer: CallObserver | None
    ) -> httpx2.Response:
        body = {**form, "client_id": self.app.client_id, "client_secret": self.app.client_secret}
        started, tick = self._services.now(), time.perf_counter()
        response: httpx2.Response | None = None
        try:
            async with self._http() as http:
                response = await http.post(path, data=body, headers={"Accept": "application/json"})
        except httpx2.RequestError as exc:
            raise TransportError(
                f"DrChrono could not be reached at {self.app.drchrono_url} "
                f"(POST {path}: {type(exc).__name__})"
            ) from None
        finally:
            if observer is not None:
                await observer.observe(_record(path, response, started, tick))
        return response

    def _http(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            base_url=self.app.drchrono_url,
            transport=self._services.transport,
            timeout=self._services.oauth_timeout,
            follow_redirects=False,
        )

    def _parse(self, response: httpx2.Response, sent_at: datetime) -> Grant:
        body = _json(response)
        fields = ("access_token", "refresh_token", "expires_in")
        if not isinstance(body, dict) or not all(body.get(name) for name in fields):
            raise UnexpectedResponse(
                "DrChrono's token answer lacks a token or its lifetime",
                method="POST", path=TOKEN_PATH, status=response.status_code,
            )  # fmt: skip
        try:
            lifetime = timedelta(seconds=float(body["expires_in"]))
        except (TypeError, ValueError):
            raise UnexpectedResponse(
                "DrChrono's token answer has no valid lifetime",
                method="POST", path=TOKEN_PATH, status=response.status_code,
            ) from None  # fmt: skip
        pair = TokenPair(
            access_token=str(body["access_token"]),
            refresh_token=str(body["refresh_token"]),
            expires_at=sent_at + lifetime,
        )
        scope = body.get("scope")
        return Grant(pair=pair, scopes=tuple(scope.split()) if isinstance(scope, str) else ())

    # --- failures ----------------------------------------------------------------------------

    def _failure(self, response: httpx2.Response, path: str, *, step: str) -> Exception:
        body = _json(response)
        code = body.get("error") if isinstance(body, dict) else None
        if isinstance(code, str) and response.status_code in (400, 401):
            return self._oauth_error(code, step)
        error = error_for(response, method="POST", template=path, now=self._services.now())
        if isinstance(error, ServerError):
            return ServerError(
                f"DrChrono answered {step} with a server error",
                method="POST", path=path, status=response.status_code,
                hint="DrChrono is having trouble; try again in a few minutes.",
            )  # fmt: skip
        return error or UnexpectedResponse(method="POST", path=path, status=response.status_code)

    def _client_fix(self) -> str:
        if from_environment(self._services, self.app):
            return (
                "Copy the client id and secret again from DrChrono's API page into "
                "CHRONOBRIDGE_CLIENT_ID and CHRONOBRIDGE_CLIENT_SECRET."
            )
        fix = setting_hint(self._services, self.app, "client_secret", value="SECRET")
        return (
            f"Copy the client secret again from DrChrono's API page and {fix} (the client id "
            f"there must be {self.app.client_id})."
        )

    def _oauth_error(self, code: str, step: str) -> OAuthError:
        name = self.app.name
        if code == "invalid_client":
            return InvalidClient(
                f"DrChrono refused the client id or client secret of application {name!r}",
                hint=self._client_fix(),
            )
        if code == "invalid_grant" and step == "the authorization code":
            return InvalidGrant(
                "DrChrono refused the authorization code: it expired or was already used",
                hint="Run chronobridge connect again and finish the authorization within a minute.",
            )
        if code == "invalid_grant":
            return InvalidGrant(
                "DrChrono refused the refresh token: the authorization was withdrawn or replaced"
            )
        safe = code if _ERROR_CODE.fullmatch(code) else "an unknown error"
        return OAuthError(
            f"DrChrono's authorization server refused {step} ({safe})",
            hint="Check the application on DrChrono's API page, then run chronobridge connect.",
        )


def _record(
    path: str, response: httpx2.Response | None, started: datetime, tick: float
) -> CallRecord:
    return CallRecord(
        method="POST",
        path=path,
        status=response.status_code if response is not None else 0,
        duration_ms=(time.perf_counter() - tick) * 1000,
        bytes_in=len(response.content) if response is not None else 0,
        bytes_out=0,
        request_id=None,
        operation=None,
        priority=Priority.INTERACTIVE,
        started_at=started,
    )


def _json(response: httpx2.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None
