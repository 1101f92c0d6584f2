"""One function maps every answer to the error tree (table-driven over statuses and bodies)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx2
import pytest

from chronobridge.client import error_for
from chronobridge.client._errors import decode_body, transport_error
from chronobridge.errors import (
    ApiError,
    Conflict,
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

NOW = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
TEMPLATE = "/api/patients/{id}"


def _answer(
    status: int, *, json: object = None, text: str | None = None, **headers: str
) -> httpx2.Response:
    request = httpx2.Request(
        "GET", "https://app.drchrono.test/api/patients/86803949?first_name=Zeb"
    )
    if text is not None:
        return httpx2.Response(status, text=text, headers=headers, request=request)
    return httpx2.Response(status, json=json, headers=headers, request=request)


def _map(response: httpx2.Response) -> ApiError | None:
    return error_for(response, method="GET", template=TEMPLATE, now=NOW)


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_success_is_no_error(status: int) -> None:
    assert _map(_answer(status, json={})) is None


@pytest.mark.parametrize(
    ("status", "kwargs", "kind"),
    [
        (401, {"text": "Authorization failed."}, Unauthorized),
        (
            403,
            {"json": {"detail": "You do not have permission to perform this action."}},
            PermissionDenied,
        ),
        (404, {"json": {"detail": "Not found."}}, NotFound),
        (405, {"json": {"detail": 'Method "PUT" not allowed.'}, "Allow": "GET"}, MethodNotAllowed),
        (409, {"json": ["Scheduled time overlaps with an existing appointment"]}, Conflict),
        (400, {"json": {"gender": ["This field is required."]}}, ValidationFailed),
        (400, {"text": "<html>Bad Request</html>"}, ValidationFailed),
        (
            429,
            {"json": {"detail": "Request was throttled. Expected available in 60.0 seconds."}},
            RateLimited,
        ),
        (500, {"text": "<h1>Server Error (500)</h1>"}, ServerError),
        (502, {"text": "Bad gateway"}, ServerError),
        (503, {"json": {"detail": "down"}}, ServerError),
        (302, {"text": "", "Location": "https://evil.test/x"}, UnexpectedResponse),
        (304, {"text": ""}, UnexpectedResponse),
        (418, {"text": "teapot"}, UnexpectedResponse),
        (422, {"json": {}}, UnexpectedResponse),
    ],
)
def test_status_maps_to_its_class(
    status: int, kwargs: dict[str, object], kind: type[ApiError]
) -> None:
    headers = {k: str(v) for k, v in kwargs.items() if k not in ("json", "text")}
    body = {k: v for k, v in kwargs.items() if k in ("json", "text")}
    error = _map(_answer(status, **body, **headers))  # type: ignore[arg-type]
    assert type(error) is kind
    assert error.status == status
    assert error.method == "GET"
    assert error.path == TEMPLATE
    assert f"(GET {TEMPLATE} -> {status})" in str(error)
    assert "86803949" not in str(error)
    assert "Zeb" not in str(error)


def test_validation_keeps_field_names_and_redacts_values() -> None:
    body = {"gender": ['"Zebulon" is not a valid choice.'], "doctor": ["This field is required."]}
    error = _map(_answer(400, json=body))
    assert isinstance(error, ValidationFailed)
    assert error.fields == {
        "gender": ["<redacted> is not a valid choice."],
        "doctor": ["This field is required."],
    }
    assert "doctor, gender" in str(error)
    assert "Zebulon" not in repr(error.fields)


def test_validation_redacts_what_was_sent() -> None:
    response = _answer(400, json={"last_name": ["Canaryfield is reserved"]})
    error = error_for(
        response, method="POST", template="/api/patients", now=NOW, sent={"Canaryfield"}
    )
    assert isinstance(error, ValidationFailed)
    assert error.fields == {"last_name": ["<redacted> is reserved"]}


@pytest.mark.parametrize(
    ("kwargs", "wait"),
    [
        (
            {"json": {"detail": "Request was throttled. Expected available in 2295.0 seconds."}},
            2295.0,
        ),
        ({"text": "Request was throttled. Expected available in 30 seconds."}, 30.0),
        ({"json": {}, "Retry-After": "120"}, 120.0),
        ({"json": {}, "Retry-After": "Mon, 02 Mar 2026 10:20:00 GMT"}, 300.0),
        ({"json": {}}, 45 * 60.0),
        ({"json": {"detail": "Expected available in 99999 seconds."}}, 3600.0),
        ({"json": {"detail": "Expected available in -3 seconds."}}, 1.0),
    ],
)
def test_rate_limited_carries_the_wait(kwargs: dict[str, object], wait: float) -> None:
    headers = {k: str(v) for k, v in kwargs.items() if k not in ("json", "text")}
    body = {k: v for k, v in kwargs.items() if k in ("json", "text")}
    error = _map(_answer(429, **body, **headers))  # type: ignore[arg-type]
    assert isinstance(error, RateLimited)
    assert error.retry_after == wait
    assert error.retriable


def test_classification_follows_the_tree() -> None:
    assert _map(_answer(500, text="x")).retriable  # type: ignore[union-attr]
    assert _map(_answer(404, json={})).skippable  # type: ignore[union-attr]
    assert not _map(_answer(401, text="x")).retriable  # type: ignore[union-attr]


def test_decode_body_by_media() -> None:
    ok = _answer(200, json={"id": 1})
    assert decode_body(ok, media="application/json", method="GET", template=TEMPLATE) == {"id": 1}
    xml = _answer(200, text="<ClinicalDocument/>")
    assert (
        decode_body(xml, media="application/xml", method="GET", template=TEMPLATE)
        == "<ClinicalDocument/>"
    )
    empty = _answer(204, text="")
    assert decode_body(empty, media="application/json", method="PUT", template=TEMPLATE) is None


def test_bad_json_on_success_is_unexpected_and_quiet() -> None:
    bad = _answer(200, text='{"first_name": "Zebulon", truncated')
    with pytest.raises(UnexpectedResponse) as caught:
        decode_body(bad, media="application/json", method="GET", template=TEMPLATE)
    assert "Zebulon" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_transport_error_names_only_the_failure() -> None:
    request = httpx2.Request("GET", "https://app.drchrono.test/api/patients?last_name=Canaryfield")
    exc = httpx2.ReadTimeout(
        "timed out reading https://app.drchrono.test/api/patients?last_name=Canaryfield",
        request=request,
    )
    error = transport_error(exc, method="GET", template="/api/patients")
    assert isinstance(error, TransportError)
    assert error.retriable
    assert str(error) == "DrChrono could not be reached (GET /api/patients: ReadTimeout)"


@pytest.mark.parametrize(
    "status", [200, 204, 302, 400, 401, 403, 404, 405, 409, 418, 429, 500, 503]
)
def test_the_api_log_names_the_class_the_client_raises(status: int) -> None:
    from chronobridge.client import error_class_for

    raised = error_for(_answer(status, json={}), method="GET", template=TEMPLATE, now=NOW)
    named = error_class_for(status)
    if 200 <= status < 300:
        assert raised is None
    elif 300 <= status < 400:
        assert isinstance(raised, UnexpectedResponse)  # a redirect the client did not follow
    else:
        assert named is not None
        assert type(raised) is named
    assert error_class_for(0) is TransportError
