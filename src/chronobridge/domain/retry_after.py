"""How long to wait after DrChrono answers 429 (reliability DP-12). Pure and total: never raises.

DrChrono names the wait in its body (`{"detail": "Request was throttled. Expected available in
2295.0 seconds."}`); a `Retry-After` header (delta seconds or an HTTP date, RFC 9110 §10.2.3) is
honoured when the text is missing; with neither, the fixed hourly window resets at the top of the
next hour. Whatever the source, the wait is clamped to [1 s, 1 h]: the window is an hour long, so
a longer wait is garbage and a shorter one a busy loop.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

__all__ = ["MAX_WAIT", "MIN_WAIT", "clamp_wait", "retry_after_seconds", "seconds_to_next_hour"]

MIN_WAIT = 1.0
MAX_WAIT = 3600.0

_NUMBER = r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)"
_DETAIL = re.compile(r"available\s+in\s+" + _NUMBER + r"\s*sec", re.IGNORECASE)
_DELTA = re.compile(r"\s*" + _NUMBER + r"\s*")


def retry_after_seconds(*, detail: object, header: str | None, now: datetime) -> float:
    """Seconds to wait, from DrChrono's detail text, else the header, else the top of the hour."""
    waited = _from_detail(detail)
    if waited is None:
        waited = _from_header(header, now)
    if waited is None:
        waited = seconds_to_next_hour(now)
    return clamp_wait(waited)


def clamp_wait(seconds: float) -> float:
    if math.isnan(seconds):
        return MAX_WAIT
    return min(MAX_WAIT, max(MIN_WAIT, seconds))


def seconds_to_next_hour(now: datetime) -> float:
    now = _aware(now)
    top = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return (top - now).total_seconds()


def _from_detail(detail: object) -> float | None:
    if not isinstance(detail, str):
        return None
    found = _DETAIL.search(detail[:500])
    return _to_float(found.group(1)) if found else None


def _from_header(header: str | None, now: datetime) -> float | None:
    if not header or len(header) > 200:
        return None
    delta = _DELTA.fullmatch(header)
    if delta:
        return _to_float(delta.group(1))
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return (_aware(when) - _aware(now)).total_seconds()


def _to_float(text: str) -> float | None:
    try:
        return float(text)
    except (ValueError, OverflowError):
        return None


def _aware(moment: datetime) -> datetime:
    # RFC 5322 "-0000" dates parse as naive; they mean UTC, as does a naive clock here.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
