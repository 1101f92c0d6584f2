"""One GET of the authorize URL without following redirects, to learn what DrChrono does with it.

- a redirect to the registered redirect URI: approved at once (the emulator's --auto-approve) or
  refused (`?error=access_denied`): the callback is right there, no browser needed;
- a page (200, or a redirect to a login page): a person must sign in and consent in a browser;
- an error page (unknown client id, unregistered redirect URI), a 5xx or no answer at all: the
  matching error, before the user is sent anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx2

from chronobridge.connections._flow import AuthorizationStart, Callback
from chronobridge.connections._hints import setting_hint
from chronobridge.connections._services import Services
from chronobridge.errors import (
    InvalidClient,
    OAuthError,
    RedirectMismatch,
    ServerError,
    TransportError,
)

__all__ = ["Probe", "probe_authorization"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PAGE_CHARS = 20_000


@dataclass(frozen=True, kw_only=True)
class Probe:
    """Either the callback DrChrono answered at once, or None: a browser is needed."""

    callback: Callback | None


async def probe_authorization(services: Services, start: AuthorizationStart) -> Probe:
    try:
        async with httpx2.AsyncClient(
            transport=services.transport, timeout=services.oauth_timeout, follow_redirects=False
        ) as http:
            response = await http.get(start.url, headers={"Accept": "text/html"})
    except httpx2.RequestError as exc:
        raise TransportError(
            f"DrChrono could not be reached at {start.app.drchrono_url} "
            f"(GET /o/authorize/: {type(exc).__name__})"
        ) from None
    return _classify(services, start, response)


def _classify(services: Services, start: AuthorizationStart, response: httpx2.Response) -> Probe:
    status = response.status_code
    if status in _REDIRECTS:
        location = str(response.request.url.join(response.headers.get("location", "")))
        if location.split("?", 1)[0] == start.redirect_uri.split("?", 1)[0]:
            return Probe(callback=Callback.from_url(location))
        return Probe(callback=None)  # a login page: the browser's turn
    if status == 200:
        return Probe(callback=None)
    if status >= 500:
        raise ServerError(
            "DrChrono answered the authorization page with a server error",
            method="GET", path="/o/authorize/", status=status,
            hint="DrChrono is having trouble; try chronobridge connect again in a few minutes.",
        )  # fmt: skip
    raise _refusal(services, start, status, response.text[:_PAGE_CHARS].lower())


def _refusal(services: Services, start: AuthorizationStart, status: int, page: str) -> OAuthError:
    app = start.app
    if "redirect" in page:
        fix = setting_hint(services, app, "redirect_uris", value="URI")
        return RedirectMismatch(
            f"DrChrono refused the redirect URI {start.redirect_uri}: it is not registered "
            f"for client id {app.client_id}",
            hint=f"Register that exact URI on DrChrono's API page, or {fix} with one that is.",
        )
    if "client" in page:
        fix = setting_hint(services, app, "client_id")
        return InvalidClient(
            f"DrChrono does not know the client id {app.client_id}",
            hint=f"Copy the client id from DrChrono's API page: {fix}.",
        )
    return OAuthError(
        f"DrChrono refused the authorization request (HTTP {status})",
        hint="Check that the application is available to your practice on DrChrono's API page.",
    )
