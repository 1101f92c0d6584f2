"""The async DrChrono client: one exchange path for every catalog operation.

A request goes `execute` -> `send` (bearer token, one refresh on 401) -> `_follow` (same-origin
redirects, re-sent with the same method and headers: /api/users/current) -> `_send_once`
(budget reservation, httpx2, API-log record). Answers become errors in `_errors.error_for`
only. No retries here apart from the single 401 refresh: jobs retry (reliability DP-8).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx2

from chronobridge.catalog import CATALOG
from chronobridge.client._build import Outgoing, build, build_raw
from chronobridge.client._errors import decode_body, error_for, transport_error
from chronobridge.client._logging import guard_library_logs
from chronobridge.client._memory import MemoryBudget
from chronobridge.client._ports import Budget, CallObserver, CallRecord, Priority, TokenSource
from chronobridge.client._resource import ResourceClient
from chronobridge.client._types import TypedResources
from chronobridge.domain.backoff import Backoff
from chronobridge.errors import InvalidRequest, RateLimited

__all__ = ["DEFAULT_BASE_URL", "ClientOptions", "DrChronoClient"]

DEFAULT_BASE_URL = "https://app.drchrono.com"
MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_REQUEST_ID_HEADERS = ("x-request-id", "x-drc-request-id", "x-amzn-requestid")
_log = logging.getLogger("chronobridge.client")

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientOptions:
    """Per-client settings; `DrChronoClient.with_options` derives a client with others."""

    priority: Priority = Priority.INTERACTIVE
    api_version: str | None = "v4"
    timeout: float = 30.0
    batch_backoff: Backoff = field(default_factory=Backoff)
    user_agent: str = "chronobridge/0.1"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Shared:
    http: httpx2.AsyncClient
    tokens: TokenSource
    budget: Budget
    observer: CallObserver | None
    sleep: Sleep
    clock: Clock


class DrChronoClient(TypedResources):
    """Every DrChrono operation, driven by the catalog, over one httpx2.AsyncClient."""

    def __init__(
        self,
        *,
        tokens: TokenSource,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx2.AsyncBaseTransport | None = None,
        budget: Budget | None = None,
        observer: CallObserver | None = None,
        options: ClientOptions | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
    ) -> None:
        guard_library_logs()
        http = httpx2.AsyncClient(base_url=base_url, transport=transport, follow_redirects=False)
        self._shared = _Shared(
            http=http,
            tokens=tokens,
            budget=budget if budget is not None else MemoryBudget(),
            observer=observer,
            sleep=sleep or asyncio.sleep,
            clock=clock or (lambda: datetime.now(UTC)),
        )
        self.options = options or ClientOptions()

    # --- life cycle and variants -------------------------------------------------------------

    async def __aenter__(self) -> DrChronoClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (shared with every `with_options` variant)."""
        await self._shared.http.aclose()

    def with_options(self, **changes: Any) -> DrChronoClient:
        """The same connection, tokens and budget with other options (e.g. priority=POLL)."""
        variant = object.__new__(DrChronoClient)
        variant._shared = self._shared
        variant.options = replace(self.options, **changes)
        return variant

    @property
    def base_url(self) -> str:
        return str(self._shared.http.base_url).rstrip("/")

    @property
    def clock(self) -> Clock:
        return self._shared.clock

    @property
    def sleep(self) -> Sleep:
        return self._shared.sleep

    # --- the public ways in ------------------------------------------------------------------

    def resource(self, name: str) -> ResourceClient[Any]:
        """Helpers for one catalog resource: list, pages, get, create, ..., action, batch."""
        try:
            return ResourceClient(self, CATALOG.resource(name))
        except KeyError:
            raise InvalidRequest(f"The catalog has no resource named {name!r}.") from None

    async def call(
        self,
        operation: str,
        *,
        id: object = None,
        params: Mapping[str, object] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
    ) -> Any:
        """Call one catalog operation by name; the decoded body (None when empty)."""
        try:
            op = CATALOG.operation(operation)
        except KeyError:
            raise InvalidRequest(f"The catalog has no operation named {operation!r}.") from None
        out = build(op, id=id, params=params, json=json, data=data, files=files)
        return await self.execute(out)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, object] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
    ) -> Any:
        """Send any request to a path on the base URL (no catalog checks)."""
        out = build_raw(method, path, params=params, json=json, data=data, files=files)
        return await self.execute(out)

    # --- the exchange ------------------------------------------------------------------------

    async def execute(self, out: Outgoing) -> Any:
        response = await self.send(out)
        await self.raise_for(out, response)
        return decode_body(response, media=out.media, method=out.method, template=out.template)

    async def send(self, out: Outgoing) -> httpx2.Response:
        """Send with the current token; on 401 ask for a fresh one and send once more; a
        second 401 means the grant is dead (at most two attempts, no refresh loop)."""
        tokens = self._shared.tokens
        token = await tokens.access_token()
        response = await self._follow(out, token)
        if response.status_code == 401:
            token = await tokens.refreshed(token)
            response = await self._follow(out, token)
            if response.status_code == 401:
                raise await tokens.rejected(token)
        return response

    async def raise_for(self, out: Outgoing, response: httpx2.Response) -> None:
        """Raise the error of a failed answer; a 429 first parks the whole application."""
        now = self._shared.clock()
        error = error_for(
            response, method=out.method, template=out.template, now=now, sent=out.sent
        )
        if error is None:
            return
        if isinstance(error, RateLimited):
            await self._shared.budget.park(now + timedelta(seconds=error.retry_after))
        raise error

    async def _follow(self, out: Outgoing, token: str) -> httpx2.Response:
        response = await self._send_once(out, token)
        for _ in range(MAX_REDIRECTS):
            target = self._redirect_target(response)
            if target is None:
                break
            out = out.to(target)
            response = await self._send_once(out, token)
        return response

    def _redirect_target(self, response: httpx2.Response) -> str | None:
        """Path and query of a same-origin redirect; the token never goes to another host."""
        location = response.headers.get("location")
        if response.status_code not in _REDIRECTS or not location:
            return None
        target = urlsplit(str(response.request.url.join(location)))
        base = urlsplit(self.base_url)
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            return None
        return target.path + (f"?{target.query}" if target.query else "")

    async def _send_once(self, out: Outgoing, token: str) -> httpx2.Response:
        await self._shared.budget.reserve(self.options.priority)
        request = self._build_request(out, token)
        started, tick = self._shared.clock(), time.perf_counter()
        response: httpx2.Response | None = None
        try:
            response = await self._shared.http.send(request)
        except httpx2.RequestError as exc:
            raise transport_error(exc, method=out.method, template=out.template) from None
        finally:
            ms = (time.perf_counter() - tick) * 1000
            await self._observe(out, request, response, started=started, ms=ms)
        return response

    def _build_request(self, out: Outgoing, token: str) -> httpx2.Request:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        headers["User-Agent"] = self.options.user_agent
        if self.options.api_version:
            headers["X-DRC-API-Version"] = self.options.api_version
        return self._shared.http.build_request(
            out.method,
            out.url,
            params=out.params or None,
            json=out.json,
            data=out.data,
            files=out.files,
            headers=headers,
            timeout=self.options.timeout,
        )

    async def _observe(
        self,
        out: Outgoing,
        request: httpx2.Request,
        response: httpx2.Response | None,
        *,
        started: datetime,
        ms: float,
    ) -> None:
        status = response.status_code if response is not None else 0
        _log.debug("DrChrono %s %s -> %s in %.0f ms", out.method, out.template, status, ms)
        observer = self._shared.observer
        if observer is None:
            return
        record = CallRecord(
            method=out.method,
            path=out.template,
            status=status,
            duration_ms=ms,
            bytes_in=len(response.content) if response is not None else 0,
            bytes_out=int(request.headers.get("content-length") or 0),
            request_id=_request_id(response),
            operation=out.operation,
            priority=self.options.priority,
            started_at=started,
        )
        try:
            await observer.observe(record)
        except Exception as exc:  # the API log must never change the outcome of a call
            _log.warning("The call observer failed: %s", type(exc).__name__)


def _request_id(response: httpx2.Response | None) -> str | None:
    if response is None:
        return None
    for name in _REQUEST_ID_HEADERS:
        value = response.headers.get(name)
        if value:
            return value[:100]
    return None
