"""What identifies one version of one DrChrono record: resource, id, `updated_at`, content.

Ids are strings everywhere in the hub, because appointment ids are JSON strings (and may look
like `<date>_<id>` for virtual recurring instances) while every other resource uses integers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chronobridge.domain.timezones import TimeZones

__all__ = ["RecordVersion", "content_digest", "record_doctor", "record_id", "version_of"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordVersion:
    """One version of one record: enough to order and dedupe, and no patient data."""

    resource: str
    record_id: str
    updated_at: datetime | None
    """DrChrono's `updated_at` as aware UTC; None when the resource has no such field."""
    digest: str = ""
    """Optional content hash (`content_digest`), to tell apart two versions of the same second."""

    def __post_init__(self) -> None:
        if self.updated_at is not None and self.updated_at.utcoffset() is None:
            raise ValueError("updated_at must be timezone-aware")

    @property
    def token(self) -> str:
        """A short stable fingerprint of (id, updated_at, digest) for cursor boundary sets."""
        stamp = _stamp(self.updated_at)
        text = f"{self.record_id}\x1f{stamp}\x1f{self.digest}"
        return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def record_id(record: Mapping[str, Any]) -> str:
    """The record's DrChrono id as a string; KeyError when the record has none."""
    value = record["id"]
    if value is None or value == "":
        raise KeyError("id")
    return str(value)


def record_doctor(record: Mapping[str, Any]) -> object:
    """The doctor whose time zone the record's timestamps are written in (None: the practice's)."""
    return record.get("doctor")


def version_of(
    resource: str,
    record: Mapping[str, Any],
    *,
    timezones: TimeZones,
    digest: bool = False,
) -> RecordVersion:
    """The version of a record as DrChrono sent it; `digest=True` also hashes its content."""
    raw = record.get("updated_at")
    updated = (
        timezones.to_utc(raw, doctor=record_doctor(record))
        if isinstance(raw, str) and raw
        else None
    )
    return RecordVersion(
        resource=resource,
        record_id=record_id(record),
        updated_at=updated,
        digest=content_digest(record) if digest else "",
    )


def content_digest(record: Mapping[str, Any]) -> str:
    """A hash of the record's canonical JSON: equal content, equal digest, whatever key order."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _stamp(instant: datetime | None) -> str:
    return "" if instant is None else instant.astimezone(UTC).isoformat()
