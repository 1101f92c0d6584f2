"""DrChrono's zone-less timestamps, read in the doctor's time zone, stored as UTC, shown local.

DrChrono writes `"2024-03-10T02:30:00"` with no offset (facts §8). The hub interprets such a
wall-clock time in the time zone of the doctor the record belongs to (`/api/doctors` `timezone`,
e.g. `"US/Eastern"`), falling back to the practice's zone, and keeps an aware UTC datetime.

Daylight-saving edges follow one documented rule (the same as Python's `fold=0` and PostgreSQL):

- a wall-clock time that does not exist (spring forward, 02:30 on the day clocks jump from 02:00
  to 03:00) is read with the offset in force just before the jump, so it lands one gap later
  (02:30 EST = 07:30 UTC = 03:30 EDT);
- a wall-clock time that happens twice (fall back, 01:30) is the first occurrence (daylight
  time). Going back to local time with `to_local` and `to_drchrono` is therefore lossy only for
  instants in the repeated hour's second pass: they write back as the first pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chronobridge.errors import ConfigError

__all__ = ["DRCHRONO_FORMAT", "TimeZones", "parse_local", "zone"]

DRCHRONO_FORMAT = "%Y-%m-%dT%H:%M:%S"


def zone(name: str) -> ZoneInfo:
    """The zone called `name`, or ConfigError naming it (a zone name is not patient data)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"Unknown time zone {name!r}.", hint="Use an IANA name such as US/Eastern."
        ) from None


def parse_local(text: str, tz: tzinfo) -> datetime:
    """A DrChrono timestamp as aware UTC; an offset in the text wins over `tz`.

    Raises ValueError when `text` is not ISO 8601 (callers turn it into their own error).
    """
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class TimeZones:
    """Which zone each doctor's records are written in; built once per connection or sync."""

    default: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    by_doctor: Mapping[str, ZoneInfo] = field(default_factory=dict)
    unresolved: frozenset[str] = frozenset()
    """Doctor ids whose `timezone` was empty or unknown; they use `default` (warn about these)."""

    @classmethod
    def build(cls, doctors: Mapping[Any, str | None], *, default: str = "UTC") -> TimeZones:
        """From `{doctor_id: "US/Eastern"}`; an unknown default zone is a ConfigError."""
        fallback = zone(default)
        zones: dict[str, ZoneInfo] = {}
        unresolved: set[str] = set()
        for doctor_id, name in doctors.items():
            resolved = _try_zone(name)
            zones[str(doctor_id)] = resolved or fallback
            if resolved is None:
                unresolved.add(str(doctor_id))
        return cls(default=fallback, by_doctor=zones, unresolved=frozenset(unresolved))

    @classmethod
    def from_doctors(
        cls, records: Iterable[Mapping[str, object]], *, default: str | None = None
    ) -> TimeZones:
        """From `/api/doctors` records (`id`, `timezone`); by default the practice's zone is the
        first doctor's, as DrChrono (and the emulator) do for records without a doctor."""
        table = {str(r["id"]): _text(r.get("timezone")) for r in records if r.get("id") is not None}
        first = next((name for name in table.values() if _try_zone(name)), None)
        return cls.build(table, default=default or first or "UTC")

    def zone_for(self, doctor: object) -> ZoneInfo:
        """The doctor's zone; the practice default for an unknown or missing doctor."""
        if doctor is None:
            return self.default
        return self.by_doctor.get(str(doctor), self.default)

    def to_utc(self, text: str, *, doctor: object) -> datetime:
        """A DrChrono timestamp written in the doctor's zone, as aware UTC."""
        return parse_local(text, self.zone_for(doctor))

    def to_local(self, instant: datetime, *, doctor: object) -> datetime:
        """An aware instant as the doctor's wall-clock time (aware, in the doctor's zone)."""
        _require_aware(instant)
        return instant.astimezone(self.zone_for(doctor))

    def to_drchrono(self, instant: datetime, *, doctor: object) -> str:
        """An aware instant in DrChrono's wire format: the doctor's wall clock, no offset."""
        return self.to_local(instant, doctor=doctor).strftime(DRCHRONO_FORMAT)

    def local_date(self, instant: datetime, *, doctor: object = None) -> date:
        """The calendar date of `instant` on the doctor's (or the practice's) wall clock."""
        return self.to_local(instant, doctor=doctor).date()

    def start_of_day(self, day: date, *, doctor: object = None) -> datetime:
        """Local midnight of `day` as aware UTC (the lower edge of DrChrono's `since=day`)."""
        local = datetime.combine(day, time(0), tzinfo=self.zone_for(doctor))
        return local.astimezone(UTC)


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")


def _try_zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return zone(name)
    except ConfigError:
        return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
