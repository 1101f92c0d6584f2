"""The one place where an HTTP answer (or its absence) becomes an error of the tree.

Messages name the method, the catalog path template and the status; never the concrete path,
the query string, a body or a token. A 400 keeps its field names with redacted messages; a 429
carries the wait DrChrono named, clamped to [1 s, 1 h].
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import httpx2

from chronobridge.domain.error_text import validation_fields
from chronobridge.domain.retry_after import retry_after_seconds
from chronobridge.errors import (
    ApiError,
    Conflict,
    HubError,
    MethodNotAllowed,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    UnexpectedResponse,
    ValidationFailed,
)

__all__ = ["decode_body", "error_class_for", "error_for", "transport_error"]

_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    403: PermissionDenied,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
}
JSON_MEDIA = "application/json"


def error_for(
    response: httpx2.Response,
    *,
    method: str,
    template: str,
    now: datetime,
    sent: Iterable[str] = (),
) -> ApiError | None:
    """The error for `response`, or None when it is a success (2xx)."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    where: dict[str, Any] = {"method": method, "path": template, "status": status}
    if status == 400:
        fields = validation_fields(_json(response), sent=sent)
        return ValidationFailed(fields=fields, **where)
    if status == 429:
        return _rate_limited(response, now=now, where=where)
    if status in _BY_STATUS:
        return _BY_STATUS[status](**where)
    if status >= 500:
        return ServerError(**where)
    if 300 <= status < 400:
        return UnexpectedResponse("DrChrono redirected where the client does not follow", **where)
    return UnexpectedResponse(**where)


def error_class_for(status: int) -> type[HubError] | None:
    """The class of the error a status becomes (None for a success or a redirect followed);
    0 means no answer came. The API log records its name; `error_for` raises it."""
    if 200 <= status < 400:
        return None
    if status == 0:
        return TransportError
    if status == 400:
        return ValidationFailed
    if status == 429:
        return RateLimited
    return _BY_STATUS.get(status) or (ServerError if status >= 500 else UnexpectedResponse)


def decode_body(response: httpx2.Response, *, media: str, method: str, template: str) -> Any:
    """The body of a successful answer: parsed JSON, text for XML (ccda), None when empty."""
    if not response.content:
        return None
    if media != JSON_MEDIA:
        return response.text
    try:
        return json.loads(response.content)
    except ValueError:
        raise UnexpectedResponse(
            "DrChrono's answer is not valid JSON",
            method=method,
            path=template,
            status=response.status_code,
        ) from None


def transport_error(exc: Exception, *, method: str, template: str) -> TransportError:
    """No answer: the name of the failure only (httpx's texts may carry the URL and query)."""
    return TransportError(
        f"DrChrono could not be reached ({method} {template}: {type(exc).__name__})"
    )


def _rate_limited(response: httpx2.Response, *, now: datetime, where: dict[str, Any]) -> ApiError:
    body = _json(response)
    detail = body.get("detail") if isinstance(body, dict) else response.text[:500]
    wait = retry_after_seconds(detail=detail, header=response.headers.get("retry-after"), now=now)
    message = f"DrChrono's hourly request limit is reached; available again in {wait:.0f} s"
    hint = f"Try again in {wait:.0f} s; chronobridge budget shows the use."
    return RateLimited(message=message, retry_after=wait, hint=hint, **where)


def _json(response: httpx2.Response) -> object:
    try:
        return json.loads(response.content)
    except ValueError:
        return None
