"""DrChrono's patient chart and clinical note pages, embedding the applications' iframes.

Facts §6: the iframe URL gets `doctor_id`, `patient_id`, `practice_id`, `iat` and `jwt`, the JWT
being those same claims signed HS256 with the application's client secret. Only applications
that the doctor registered (POST /api/iframe_integration, served by `_rest`) are embedded. The
clinical note page adds `appointment_id` (DrChrono's parameters there are undocumented).

    GET /iframes/patient/{patient_id}?doctor=USERNAME[&format=json]
    GET /iframes/clinical-note/{appointment_id}?doctor=USERNAME[&format=json]
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode

import jwt
from jwt.warnings import InsecureKeyLengthWarning
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from chronobridge.emulator._pages import error_page, render
from chronobridge.emulator._state import App, EmulatorState, User


def routes(state: EmulatorState) -> list[BaseRoute]:
    async def patient(request: Request) -> Response:
        record = _record(state, "patients", request.path_params["patient_id"])
        if record is None:
            return error_page("Not found", "There is no such patient.", status_code=404)
        claims = {"patient_id": record["id"]}
        return _page(state, request, ("patients", "patient_iframe_url"), record, claims)

    async def clinical_note(request: Request) -> Response:
        record = _record(state, "appointments", request.path_params["appointment_id"])
        if record is None:
            return error_page("Not found", "There is no such appointment.", status_code=404)
        claims = {"patient_id": record.get("patient"), "appointment_id": int(record["id"])}
        return _page(state, request, ("appointments", "clinical_note_iframe_url"), record, claims)

    return [
        Route("/iframes/patient/{patient_id}", patient, methods=["GET"]),
        Route("/iframes/clinical-note/{appointment_id}", clinical_note, methods=["GET"]),
    ]


def background(state: EmulatorState) -> list[Callable[[], Coroutine[Any, Any, None]]]:
    return []


def iframe_src(state: EmulatorState, app: App, url: str, claims: dict[str, Any]) -> str:
    """The URL DrChrono loads: the claims as query parameters plus their signed JWT."""
    signed = {**claims, "iat": int(state.clock.now().timestamp())}
    with warnings.catch_warnings():
        # The key is the app's secret, not ours to choose; a short one is the app's problem.
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        token = jwt.encode(signed, app.client_secret, algorithm="HS256")
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{urlencode({**signed, 'jwt': token})}"


def _page(
    state: EmulatorState,
    request: Request,
    kind: tuple[str, str],
    record: dict[str, Any],
    claims: dict[str, Any],
) -> Response:
    resource, url_field = kind
    doctor = _doctor_user(state, request, record)
    if doctor is None or not _same_practice(state, resource, int(record["id"]), doctor):
        return error_page("Not found", "There is no such record here.", status_code=404)
    base = {"doctor_id": doctor.doctor, **claims, "practice_id": doctor.practice_group}
    frames = [
        {
            "client_id": app.client_id,
            "app_name": app.name,
            "height": app.iframe_height,
            "src": iframe_src(state, app, getattr(app, url_field), base),
        }
        for app in _registered_apps(state, doctor, url_field)
    ]
    if request.query_params.get("format") == "json":
        return JSONResponse({"frames": frames})
    title = "Patient chart" if resource == "patients" else "Clinical note"
    facts = [(key.replace("_", " "), value) for key, value in base.items()]
    return render("iframes.html", title=title, facts=facts, frames=frames)


def _same_practice(state: EmulatorState, resource: str, record_id: int, viewer: User) -> bool:
    meta = state.records.meta(resource, record_id)
    return meta is not None and meta.practice == viewer.practice_group


def _registered_apps(state: EmulatorState, doctor: User, url_field: str) -> list[App]:
    return [
        app
        for app in state.apps.values()
        if getattr(app, url_field) and (app.client_id, doctor.doctor) in state.iframes
    ]


def _doctor_user(state: EmulatorState, request: Request, record: dict[str, Any]) -> User | None:
    """The viewing user from ?doctor=, or else the record's own doctor."""
    username = request.query_params.get("doctor")
    if username:
        return state.user_by_name(username)
    doctor_id = record.get("doctor")
    return state.doctor_user(doctor_id) if isinstance(doctor_id, int) else None


def _record(state: EmulatorState, resource: str, raw_id: str) -> dict[str, Any] | None:
    try:
        record_id = int(raw_id)
    except ValueError:
        return None
    return state.records.get(resource, record_id)
