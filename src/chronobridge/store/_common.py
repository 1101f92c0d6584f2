"""Small helpers the repositories share."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

__all__ = ["ConnectionStatus", "Role", "join_words", "split_words", "utcnow"]


class Role(StrEnum):
    """Who authorized: a provider, or a staff member working for one."""

    DOCTOR = "doctor"
    STAFF = "staff"


class ConnectionStatus(StrEnum):
    ACTIVE = "active"
    NEEDS_RECONNECT = "needs_reconnect"  # the grant died (invalid_grant, repeated 401)
    DEAUTHORIZED = "deauthorized"  # the user removed the app in DrChrono


def utcnow(now: datetime | None = None) -> datetime:
    """`now` if given (tests pass a fake clock), else the current time; always aware UTC."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def join_words(words: tuple[str, ...] | list[str]) -> str:
    return " ".join(words)


def split_words(text: str) -> tuple[str, ...]:
    return tuple(text.split())
