"""What the routes share while the app runs (set by the lifespan)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request

from chronobridge.connections import Services
from chronobridge.errors import ConfigError
from chronobridge.ingress import WebhookReceiver
from chronobridge.store import Database

__all__ = ["WebState", "state_of"]


@dataclass(frozen=True, kw_only=True)
class WebState:
    db: Database
    receiver: WebhookReceiver
    max_body: int
    read_timeout: float
    worker: bool
    services: Services | None = None
    metrics: Callable[[], str] | None = None
    hub: str = ""  # connections.hub_fingerprint of the database (shown at /oauth/hub)


def state_of(request: Request) -> WebState:
    state = getattr(request.app.state, "web", None)
    if not isinstance(state, WebState):
        raise ConfigError("The web app is not started (its lifespan did not run).")
    return state
