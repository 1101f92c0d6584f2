"""Server-rendered HTML for the emulator's few pages (consent, App Directory, iframes)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2
from starlette.responses import HTMLResponse


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("chronobridge.emulator", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )


def render(template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = _environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code)


def error_page(title: str, message: str, *, status_code: int = 400) -> HTMLResponse:
    """An error shown to the user; never a redirect (the redirect URI may be the problem)."""
    return render("error.html", status_code=status_code, title=title, message=message)
