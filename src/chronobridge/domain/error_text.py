"""Make DrChrono's error bodies safe to keep: field names stay, values go.

DrChrono answers 400 with Django REST framework bodies: `{"field": ["message", ...]}`, nested
objects for nested serializers, a list of such dicts for a bulk create, or a bare list of
messages (add_exam_room). DRF messages embed the rejected value (`'"Xyz" is not a valid
choice.'`, `'Invalid pk "5" - object does not exist.'`, Django's `'“abc” value must be an
integer.'`), and a value may be a patient's name or a token. So every message is redacted:
quoted text, anything we sent ourselves, e-mail addresses, then every word that holds a digit,
an upper-case letter (unless it is a common word of DRF's and DrChrono's messages) or is longer
than any English word. What is left reads like "<redacted> is not a valid choice." Field names
must look like identifiers, or they are replaced too. Pure: stdlib only.

A name typed all in lower case inside an unquoted message that we did not send would survive;
DRF quotes the values it echoes, so that takes a DrChrono-specific message doing otherwise.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

__all__ = ["NON_FIELD", "REDACTED", "redact_message", "sent_values", "validation_fields"]

REDACTED = "<redacted>"
NON_FIELD = "non_field_errors"
MAX_MESSAGE = 160
MAX_FIELDS = 50
MAX_DEPTH = 4

_FIELD_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_PATTERNS = (
    # straight double quotes, then typographic ones: \u201c..\u201d, \u00ab..\u00bb, \u2018..\u2019
    re.compile('"[^"]*"|\u201c[^\u201d]*\u201d|\u00ab[^\u00bb]*\u00bb|\u2018[^\u2019]*\u2019'),
    re.compile(r"(?<![A-Za-z])'[^']*'"),  # single quotes, not apostrophes in words
    re.compile(r"[^\s@]+@[^\s@]+"),  # e-mail addresses
    re.compile(r"\d[\d\s().+/:-]{4,}\d"),  # dates, times, phone numbers, SSNs
)
_WORD = re.compile(r"\S+")
_RUNS = re.compile(re.escape(REDACTED) + r"(?:\s*" + re.escape(REDACTED) + ")+")
_EDGES = ".,;:!?()[]{}\"'"
MAX_WORD = 24
# Capitalised words that DRF's and DrChrono's own messages start with or contain.
# fmt: off
SAFE_WORDS = frozenset({
    "a", "an", "the", "this", "that", "these", "no", "not", "only", "one", "none", "null", "true",
    "false", "it", "is", "are", "was", "be", "may", "must", "should", "cannot", "unable",
    "please", "try", "again", "later", "submit", "resubmit", "contact", "support", "request",
    "error", "failed", "batch", "uuid", "api", "json", "drchrono", "ensure", "enter", "expected",
    "incorrect", "invalid", "select", "use", "value", "date", "datetime", "time", "field",
    "fields", "required", "object", "format", "yyyy-mm-dd", "iso", "utc", "page", "id", "pk",
    "permission", "method", "allowed", "authentication", "credentials", "duplicate", "scheduled",
    "office", "exam", "room", "appointment", "appointments", "patient", "patients", "doctor",
    "user", "you", "your", "there",
})
# fmt: on


def redact_message(text: str, *, sent: Iterable[str] = ()) -> str:
    """A DRF message with every value replaced by `<redacted>`; short and printable."""
    text = _printable(text)[: MAX_MESSAGE * 4]
    for value in sorted(set(sent), key=len, reverse=True):
        if len(value) >= 2:
            text = _whole(value).sub(REDACTED, text)
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    text = _WORD.sub(_safe_word, text)
    return _RUNS.sub(REDACTED, text)[:MAX_MESSAGE]


def validation_fields(body: object, *, sent: Iterable[str] = ()) -> dict[str, list[str]]:
    """Field name (dotted for nested, indexed for bulk) -> redacted messages."""
    out: dict[str, list[str]] = {}
    _collect(body, "", out, frozenset(sent), 0)
    return out


def sent_values(*payloads: object) -> frozenset[str]:
    """Every string (and number, as text) in what we sent: DrChrono may echo any of them."""
    found: set[str] = set()
    for payload in payloads:
        _strings(payload, found, 0)
    return frozenset(found)


def _collect(
    body: object, prefix: str, out: dict[str, list[str]], sent: frozenset[str], depth: int
) -> None:
    if depth > MAX_DEPTH or len(out) >= MAX_FIELDS:
        return
    if isinstance(body, Mapping):
        for key, value in body.items():
            _collect(value, _join(prefix, _field_name(key)), out, sent, depth + 1)
    elif isinstance(body, list) and body and all(isinstance(i, Mapping | list) for i in body):
        for index, item in enumerate(body):
            _collect(item, _join(prefix, str(index)), out, sent, depth + 1)
    elif isinstance(body, list | str):
        messages = body if isinstance(body, list) else [body]
        safe = [redact_message(str(m), sent=sent) for m in messages[:10]]
        out.setdefault(prefix or NON_FIELD, []).extend(safe)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _field_name(key: object) -> str:
    name = str(key)
    if name in ("detail", NON_FIELD):
        return NON_FIELD
    return name if _FIELD_NAME.fullmatch(name) else "<field>"


def _strings(payload: object, found: set[str], depth: int) -> None:
    if depth > 8:
        return
    if isinstance(payload, str | int | float) and not isinstance(payload, bool):
        found.add(str(payload))
    elif isinstance(payload, Mapping):
        for value in payload.values():
            _strings(value, found, depth + 1)
    elif isinstance(payload, list | tuple):
        for item in payload:
            _strings(item, found, depth + 1)


def _safe_word(match: re.Match[str]) -> str:
    word = match.group(0)
    core = word.strip(_EDGES)
    if not core or REDACTED in core:
        return word
    risky = len(core) > MAX_WORD or any(c.isdigit() for c in core)
    if risky or (core.lower() != core and core.lower() not in SAFE_WORDS):
        return word.replace(core, REDACTED)
    return word


def _whole(value: str) -> re.Pattern[str]:
    """The value as a token: "Al" is redacted in "Al is taken", not inside "Also"."""
    before = r"(?<!\w)" if value[0].isalnum() or value[0] == "_" else ""
    after = r"(?!\w)" if value[-1].isalnum() or value[-1] == "_" else ""
    return re.compile(before + re.escape(value) + after)


def _printable(text: str) -> str:
    return "".join(c if unicodedata.category(c)[0] != "C" else " " for c in text)
