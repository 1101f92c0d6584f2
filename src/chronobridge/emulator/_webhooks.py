"""Webhooks, DrChrono's side (facts §5): one registration per application, managed through the
control API (DrChrono's API-management page) or the `--webhook-*` flags, and the sender task.

    PUT    /_emulator/webhooks/{client_id}          register or update (verifies on URL change)
    GET    /_emulator/webhooks[/{client_id}]        registration(s), without the secret
    DELETE /_emulator/webhooks/{client_id}
    POST   /_emulator/webhooks/{client_id}/verify   run the handshake again
    POST   /_emulator/webhooks/{client_id}/ping     deliver a PING
    GET    /_emulator/webhooks/{client_id}/deliveries[/{id}]
    POST   /_emulator/webhooks/{client_id}/deliveries/{id}/redeliver
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from chronobridge.catalog import CATALOG
from chronobridge.emulator import _webhook_sender
from chronobridge.emulator._control_input import as_object, boolean, number, read_json
from chronobridge.emulator._state import EmulatorState
from chronobridge.emulator._webhook_registry import (
    SIGNATURE_MODES,
    Registration,
    WebhookRegistry,
)

PREFIX = "/_emulator/webhooks"


def registry(state: EmulatorState) -> WebhookRegistry:
    """The state's registry, created (and subscribed to record changes) on first use."""
    found = state.extensions.get("webhooks")
    if isinstance(found, WebhookRegistry):
        return found
    created = WebhookRegistry(state)
    if isinstance(found, dict):  # raw data loaded from a state file before we existed
        created.restore(found)
    state.extensions["webhooks"] = created
    state.records.subscribe(created.on_change)
    _register_from_config(state, created)
    return created


def install(state: EmulatorState) -> None:
    registry(state)


def background(state: EmulatorState) -> list[Callable[[], Coroutine[Any, Any, None]]]:
    found = registry(state)

    async def sender() -> None:
        await _webhook_sender.run(found)

    return [sender]


def register(found: WebhookRegistry, client_id: str, spec: dict[str, Any]) -> Registration:
    """Create or replace an application's registration; it is unverified until the handshake
    passes, which a new registration, a URL change or an unverified one calls for."""
    old = found.registrations.get(client_id)
    url = str(spec.get("url") or (old.url if old else ""))
    secret = str(spec.get("secret") or (old.secret if old else ""))
    if not url.startswith(("http://", "https://")):
        raise ValueError("url must be an http(s) URL")
    if not secret:
        raise ValueError("secret is required")
    signature = str(spec.get("signature", old.signature if old else _mode(found)))
    if signature not in SIGNATURE_MODES:
        raise ValueError(f"signature must be one of {SIGNATURE_MODES}")
    events = parse_events(spec["events"]) if "events" in spec else (old.events if old else None)
    timeout = number(spec, "timeout", old.timeout if old else 5.0, low=0.001, high=60.0)
    keep = old is not None and old.url == url and old.verified
    registration = Registration(
        id=old.id if old else _next_id(found),
        client_id=client_id,
        url=url,
        secret=secret,
        events=events,
        active=boolean(spec, "active", default=old.active if old else True),
        verified=keep,
        verification=old.verification if keep and old else None,
        signature=signature,
        timeout=timeout,
    )
    found.registrations[client_id] = registration
    return registration


def parse_events(value: Any) -> frozenset[str] | None:
    """ "all", a comma-separated string or a list of event names (aliases accepted)."""
    raw = value.split(",") if isinstance(value, str) else list(value or [])
    names = [str(n).strip() for n in raw if str(n).strip()]
    if not names or "all" in names:
        return None
    out: set[str] = set()
    for name in names:
        event = CATALOG.event(name)
        if event is None:
            raise ValueError(f"unknown webhook event {name!r}")
        out.add(event.name)
    return frozenset(out)


def routes(state: EmulatorState) -> list[BaseRoute]:
    found = registry(state)
    handlers = _Handlers(state, found)
    return [
        Route(PREFIX, handlers.list_all, methods=["GET"]),
        Route(PREFIX + "/{client_id}", handlers.get, methods=["GET"]),
        Route(PREFIX + "/{client_id}", handlers.put, methods=["PUT"]),
        Route(PREFIX + "/{client_id}", handlers.delete, methods=["DELETE"]),
        Route(PREFIX + "/{client_id}/verify", handlers.verify, methods=["POST"]),
        Route(PREFIX + "/{client_id}/ping", handlers.ping, methods=["POST"]),
        Route(PREFIX + "/{client_id}/deliveries", handlers.deliveries, methods=["GET"]),
        Route(PREFIX + "/{client_id}/deliveries/{delivery_id}", handlers.delivery, methods=["GET"]),
        Route(
            PREFIX + "/{client_id}/deliveries/{delivery_id}/redeliver",
            handlers.redeliver,
            methods=["POST"],
        ),
    ]


class _Handlers:
    def __init__(self, state: EmulatorState, found: WebhookRegistry) -> None:
        self.state = state
        self.registry = found

    async def list_all(self, request: Request) -> Response:
        items = [r.json() for r in self.registry.registrations.values()]
        return JSONResponse({"webhooks": items})

    async def get(self, request: Request) -> Response:
        registration = self._registration(request)
        return _missing() if registration is None else JSONResponse(registration.json())

    async def put(self, request: Request) -> Response:
        client_id = request.path_params["client_id"]
        if client_id not in self.state.apps:
            return _missing("no application has this client_id")
        try:
            spec = as_object(await read_json(request))
            registration = register(self.registry, client_id, spec)
        except (ValueError, TypeError, AttributeError) as exc:
            return JSONResponse({"detail": str(exc)}, status_code=400)
        if not registration.verified:
            await _webhook_sender.verify(self.registry, registration)
        return JSONResponse(registration.json())

    async def delete(self, request: Request) -> Response:
        removed = self.registry.registrations.pop(request.path_params["client_id"], None)
        return _missing() if removed is None else Response(status_code=204)

    async def verify(self, request: Request) -> Response:
        registration = self._registration(request)
        if registration is None:
            return _missing()
        await _webhook_sender.verify(self.registry, registration)
        return JSONResponse(registration.json())

    async def ping(self, request: Request) -> Response:
        registration = self._registration(request)
        if registration is None:
            return _missing()
        return JSONResponse(self.registry.ping(registration).json(), status_code=202)

    async def deliveries(self, request: Request) -> Response:
        event = request.query_params.get("event")
        status = request.query_params.get("status")
        items = [
            d.json()
            for d in self.registry.log(request.path_params["client_id"])
            if (event is None or d.event == event) and (status is None or d.status == status)
        ]
        return JSONResponse({"deliveries": items})

    async def delivery(self, request: Request) -> Response:
        found = self._delivery(request)
        return _missing() if found is None else JSONResponse(found.json())

    async def redeliver(self, request: Request) -> Response:
        found = self._delivery(request)
        if found is None:
            return _missing()
        self.registry.redeliver(found)
        return JSONResponse(found.json(), status_code=202)

    def _registration(self, request: Request) -> Registration | None:
        return self.registry.registrations.get(request.path_params["client_id"])

    def _delivery(self, request: Request) -> Any:
        found = self.registry.deliveries.get(request.path_params["delivery_id"])
        if found is None or found.client_id != request.path_params["client_id"]:
            return None
        return found


def _register_from_config(state: EmulatorState, found: WebhookRegistry) -> None:
    config = state.config
    if not config.webhook_url or config.client_id in found.registrations:
        return
    spec = {
        "url": config.webhook_url,
        "secret": config.webhook_secret or "",
        "events": list(config.webhook_events),
        "signature": config.webhook_signature,
    }
    register(found, config.client_id, spec)
    found.startup_pending.add(config.client_id)


def _mode(found: WebhookRegistry) -> str:
    return found.state.config.webhook_signature


def _next_id(found: WebhookRegistry) -> int:
    value = found.next_id
    found.next_id += 1
    return value


def _missing(detail: str = "Not found.") -> Response:
    return JSONResponse({"detail": detail}, status_code=404)
