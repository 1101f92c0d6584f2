"""Control API: the applications registered on the emulator (DrChrono's API-management page).

GET /_emulator/apps                    every application, without secrets
GET /_emulator/apps/{client_id}
PUT /_emulator/apps/{client_id}        create or change one: {"client_secret", "name",
    "redirect_uris", "private", "rate_limit", "patient_iframe_url",
    "clinical_note_iframe_url", "iframe_height"}
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from chronobridge.emulator._control_input import ControlError, boolean, integer, text
from chronobridge.emulator._seed import MAIN_PRACTICE
from chronobridge.emulator._state import App, EmulatorState

MAX_RATE_LIMIT = 10**9
MAX_ID = 2**31 - 1


def list_apps(state: EmulatorState, call: Any) -> Response:
    return JSONResponse({"apps": [app_json(app) for app in state.apps.values()]})


def get_app(state: EmulatorState, call: Any) -> Response:
    app = state.apps.get(call.path["client_id"])
    if app is None:
        raise ControlError("no application has this client_id", 404)
    return JSONResponse(app_json(app))


def put_app(state: EmulatorState, call: Any) -> Response:
    client_id = str(call.path["client_id"])
    old = state.apps.get(client_id)
    body: dict[str, Any] = call.body
    secret = text(body, "client_secret") or (old.client_secret if old else "")
    uris = body.get("redirect_uris", list(old.redirect_uris) if old else [])
    if not secret or not isinstance(uris, list) or not uris:
        raise ControlError("a new application needs client_secret and redirect_uris")
    if not all(isinstance(uri, str) and uri for uri in uris):
        raise ControlError("redirect_uris must be a list of URLs")
    app = App(
        client_id=client_id,
        client_secret=secret,
        name=text(body, "name", old.name if old else client_id) or client_id,
        redirect_uris=tuple(uris),
        practice_group=integer(
            body, "practice_group", old.practice_group if old else MAIN_PRACTICE, low=1, high=MAX_ID
        ),
        private=boolean(body, "private", default=old.private if old else False),
        rate_limit=integer(
            body, "rate_limit", old.rate_limit if old else 500, low=1, high=MAX_RATE_LIMIT
        ),
        patient_iframe_url=_optional(body, "patient_iframe_url", old),
        clinical_note_iframe_url=_optional(body, "clinical_note_iframe_url", old),
        iframe_height=integer(
            body, "iframe_height", old.iframe_height if old else 600, low=1, high=10_000
        ),
    )
    state.apps[client_id] = app
    return JSONResponse(app_json(app), status_code=200 if old else 201)


def app_json(app: App) -> dict[str, Any]:
    return {
        "client_id": app.client_id,
        "name": app.name,
        "redirect_uris": list(app.redirect_uris),
        "practice_group": app.practice_group,
        "private": app.private,
        "rate_limit": app.rate_limit,
        "patient_iframe_url": app.patient_iframe_url,
        "clinical_note_iframe_url": app.clinical_note_iframe_url,
        "iframe_height": app.iframe_height,
    }


def _optional(body: dict[str, Any], name: str, old: App | None) -> str | None:
    if name in body:
        return text(body, name) or None
    return getattr(old, name) if old else None


TABLE: list[tuple[str, str, Any]] = [
    ("GET", "/_emulator/apps", list_apps),
    ("GET", "/_emulator/apps/{client_id}", get_app),
    ("PUT", "/_emulator/apps/{client_id}", put_app),
]
