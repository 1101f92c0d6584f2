"""Operations routes: `/healthz`, `/metrics`, DrChrono's OAuth redirect `/oauth/callback`, and
`/oauth/hub`, which tells `chronobridge connect` whether this server shares its database (then
the CLI lets this server receive DrChrono's answer instead of listening on the port itself)."""

from __future__ import annotations

import asyncio
import html
import logging

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from chronobridge.connections import Callback, complete_authorization, observe_budgets
from chronobridge.errors import HubError
from chronobridge.web._state import state_of

__all__ = ["router"]

log = logging.getLogger("chronobridge.web")
router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz(request: Request) -> Response:
    """200 when the database answers within a second (the inbox can store), 503 otherwise."""
    state = state_of(request)
    try:
        async with asyncio.timeout(1.0), state.db.read() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except (TimeoutError, sa.exc.SQLAlchemyError, OSError) as error:
        log.warning("Health check failed (%s)", type(error).__name__)
        return JSONResponse({"status": "unavailable"}, status_code=503)
    worker = "embedded" if state.worker else "off"
    return JSONResponse({"status": "ok", "worker": worker})


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus text: the process's default registry, then the hub's own. The budget gauges
    are read from the store at scrape time (every process's calls, cached for a second)."""
    state = state_of(request)
    services = state.services
    if services is not None:
        await observe_budgets(services.db, services.metrics, now=services.now())
    text = generate_latest(REGISTRY).decode("utf-8")
    if state.metrics is not None:
        text += state.metrics()
    return Response(text, media_type=CONTENT_TYPE_LATEST)


@router.get("/oauth/callback", include_in_schema=False)
async def oauth_callback(request: Request) -> Response:
    """DrChrono's redirect after consent: store the connection (connections package)."""
    state = state_of(request)
    if state.services is None:
        return _page("Not available", "This server does not complete authorizations.", 404)
    try:
        connection = await complete_authorization(
            state.services, Callback.from_url(str(request.url))
        )
    except HubError as error:  # messages carry no token, code or patient data (errors.py)
        return _page("Authorization failed", f"{error} {error.hint}", 400)
    return _page("Connected", f"{connection.display_name} is connected. You may close this tab.")


@router.get("/oauth/hub", include_in_schema=False)
async def oauth_hub(request: Request) -> Response:
    """Which hub completes authorizations here: its database's fingerprint, and whether it
    does at all (a server without the connection services does not)."""
    state = state_of(request)
    return JSONResponse(
        {"hub": state.hub, "completes": state.services is not None, "callback": "/oauth/callback"}
    )


def _page(title: str, text: str, status: int = 200) -> HTMLResponse:
    body = (
        f"<!doctype html><title>{html.escape(title)}</title>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
