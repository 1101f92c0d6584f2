"""DrChrono's (Django REST framework's) answers and request bodies, in one place.

Every error body the REST side sends is built here, so its wording stays DRF's: `{"detail": ...}`
for request-level errors and `{field: [messages]}` for validation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

NOT_FOUND = "Not found."
NO_PERMISSION = "You do not have permission to perform this action."
INTEGER = "A valid integer is required."
REQUIRED = "This field is required."

_INT = re.compile(r"-?[0-9]{1,18}")


class JSON(JSONResponse):
    """Compact UTF-8 JSON, like DRF's renderer (NaN never reaches it: validation refuses it)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def ok(body: Any, status: int = 200) -> Response:
    return JSON(body, status_code=status)


def detail(message: str, status: int) -> Response:
    return JSON({"detail": message}, status_code=status)


def not_found() -> Response:
    return detail(NOT_FOUND, 404)


def forbidden() -> Response:
    return detail(NO_PERMISSION, 403)


def no_content() -> Response:
    return Response(status_code=204)


def invalid(errors: Any) -> Response:
    """400 with DRF's validation body: `{field: [messages]}` or a bare list of messages."""
    return JSON(errors, status_code=400)


def field_error(field: str, message: str) -> Response:
    return invalid({field: [message]})


def method_not_allowed(method: str, allowed: tuple[str, ...]) -> Response:
    return JSON(
        {"detail": f'Method "{method}" not allowed.'},
        status_code=405,
        headers={"Allow": ", ".join(allowed)},
    )


def parse_int(text: str | None) -> int | None:
    """An ASCII integer of sane length, or None (never int()'s Unicode digits or huge strings)."""
    if text is None or not _INT.fullmatch(text.strip()):
        return None
    return int(text)


def truthy(value: Any) -> bool:
    """DRF's BooleanField truth table, used for flags such as verbose and allow_overlapping."""
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes", "y", "t", "on"}
    return value is True or (isinstance(value, int) and value == 1)


@dataclass(frozen=True, slots=True)
class Upload:
    """A file part of a multipart body: the emulator keeps its name and size, never its bytes."""

    name: str
    size: int

    def wire(self) -> str:
        return f"https://files.emulator.invalid/uploads/{self.name}"


class BodyError(Exception):
    """The body cannot be read; `response` is DRF's answer."""

    def __init__(self, response: Response) -> None:
        super().__init__("unreadable request body")
        self.response = response


FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def is_form(request: Request) -> bool:
    return media_type(request) in FORMS


async def read_body(request: Request) -> Any:
    """The parsed body: JSON (any value), or a dict for form and multipart bodies."""
    media = media_type(request)
    if media in FORMS:
        return await _read_form(request)
    raw = await request.body()
    if not raw.strip():
        return {}
    if media and media != "application/json" and not media.endswith("+json"):
        raise BodyError(detail(f'Unsupported media type "{media}" in request.', 415))
    try:
        # orjson, unlike `json`, refuses NaN and Infinity, numbers that overflow to infinity,
        # lone surrogates (which no UTF-8 answer could carry back) and nesting beyond 1,024.
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BodyError(detail(f"JSON parse error - {_short(exc)}", 400)) from None


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


async def _read_form(request: Request) -> dict[str, Any]:
    try:
        form = await request.form()
    except (HTTPException, MultiPartException) as exc:
        message = exc.detail if isinstance(exc, HTTPException) else exc.message
        raise BodyError(detail(f"Multipart form parse error - {message}", 400)) from None
    try:
        return await _form_values(form)
    finally:
        await form.close()


async def _form_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in form:
        items = form.getlist(key)
        parsed = [await _form_value(item) for item in items]
        values[key] = parsed if len(parsed) > 1 else parsed[0]
    return values


async def _form_value(item: str | UploadFile) -> Any:
    if isinstance(item, str):
        return item
    size = item.size if item.size is not None else len(await item.read())
    return Upload(name=item.filename or "upload", size=size)


def type_name(value: Any) -> str:
    """Python's name for a JSON value's type, as DRF prints it ("list", "str", "NoneType")."""
    return type(value).__name__


def expect_object(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise BodyError(
            invalid(
                {
                    "non_field_errors": [
                        f"Invalid data. Expected a dictionary, but got {type_name(body)}."
                    ]
                }
            )
        )
    return body
