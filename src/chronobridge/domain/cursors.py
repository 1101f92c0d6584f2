"""Incremental-sync cursor maths (dlt's incremental state, meltano's signpost), pure.

DrChrono's `since=YYYY-MM-DD` is date-granular and inclusive, and list pages come in id order,
not `updated_at` order. So one sync *run* reads everything changed on or after the boundary day,
and the cursor (committed with each page's rows, in one transaction) works like this:

- `start` freezes the run's `since` (the local date of `bookmark - overlap`) and its signpost
  (`started_at - lag`: list data may be seconds old, and changes made during the run must be
  read again next time).
- `advance` takes one page of record versions and answers which are fresh: versions whose token
  (id, `updated_at`, optional digest) was already seen on the boundary day are repeats of the
  inclusive re-read. The store's version check (`is_new_version`) stays the final word.
- `finish` moves the bookmark to `min(highest updated_at seen, signpost)`, never backwards, and
  keeps the tokens that the next run's `since` day will return again.

Deletions that send no webhook are found by a full reconciliation pass (`detect_deletions`,
re-exported from `deletions`).

A crash between pages loses nothing: the cursor on disk is the last committed page, and `start`
on a cursor with a run in progress resumes that run (same `since`, same signpost).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Self

from chronobridge.domain.deletions import DeletionCheck, detect_deletions
from chronobridge.domain.records import RecordVersion
from chronobridge.domain.timezones import TimeZones

__all__ = [
    "DEFAULT_POLICY",
    "Advanced",
    "Cursor",
    "CursorPolicy",
    "DeletionCheck",
    "SyncRun",
    "advance",
    "detect_deletions",
    "finish",
    "is_new_version",
    "since_window",
    "start",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class CursorPolicy:
    lag: timedelta = timedelta(minutes=5)
    """The signpost is `started_at - lag`: list data can be seconds old (DP-2 suggests 5 min)."""
    overlap: timedelta = timedelta(minutes=5)
    """`since` is the day of `bookmark - overlap`, so a bookmark just after midnight re-reads
    the previous day as well."""


DEFAULT_POLICY = CursorPolicy()


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncRun:
    """One pass over `since=...` pages, from `start` to `finish`."""

    started_at: datetime
    signpost: datetime
    since: date | None
    """The `since` sent on every page of this run; None reads everything (first sync)."""
    high: datetime | None = None
    """The highest `updated_at` seen so far in this run."""
    seen: Mapping[str, int] = field(default_factory=dict)
    """Tokens seen in this run → their `updated_at` as epoch seconds (pruned as the run goes)."""
    next_page: str | None = None
    """The client's opaque next-page reference, for resuming after a crash."""
    pages: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Cursor:
    """The bookmark of one (connection or app, resource); committed with each page's rows."""

    resource: str
    bookmark: datetime | None = None
    """Every change before this instant (aware UTC) is stored; None before the first full sync."""
    boundary: Mapping[str, int] = field(default_factory=dict)
    """Tokens of versions at or after the start of the next `since` day → epoch seconds."""
    run: SyncRun | None = None

    def since_param(self) -> str | None:
        """The `since` query value of the run in progress (None: no filter, a full read)."""
        if self.run is None or self.run.since is None:
            return None
        return self.run.since.isoformat()

    def to_json(self) -> dict[str, object]:
        run = self.run
        return {
            "resource": self.resource,
            "bookmark": _iso(self.bookmark),
            "boundary": dict(self.boundary),
            "run": None if run is None else _run_json(run),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Self:
        run = data.get("run")
        return cls(
            resource=str(data["resource"]),
            bookmark=_parse(data.get("bookmark")),
            boundary=_tokens(data.get("boundary")),
            run=None if not isinstance(run, Mapping) else _run_from_json(run),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Advanced:
    cursor: Cursor
    fresh: tuple[RecordVersion, ...]
    """Versions not seen before: store them (after `is_new_version`) and emit events."""
    repeats: int
    """Versions skipped as repeats of the inclusive boundary-day re-read."""


def since_window(instant: datetime, timezones: TimeZones) -> tuple[date, datetime]:
    """The `since` day for a bookmark and the earliest instant that day can return.

    DrChrono writes each record in its doctor's zone, so the day is the earliest local date
    among the practice's zones, and the floor is that day's earliest midnight among them.
    """
    zones = (timezones.default, *timezones.by_doctor.values())
    day = min(instant.astimezone(z).date() for z in zones)
    floor = min(datetime.combine(day, datetime.min.time(), tzinfo=z) for z in zones)
    return day, floor.astimezone(UTC)


def start(
    cursor: Cursor,
    *,
    now: datetime,
    timezones: TimeZones,
    policy: CursorPolicy = DEFAULT_POLICY,
) -> Cursor:
    """Begin a run (or resume the one in progress)."""
    if cursor.run is not None:
        return cursor
    _require_aware(now)
    since = None
    if cursor.bookmark is not None:
        since, _ = since_window(cursor.bookmark - policy.overlap, timezones)
    run = SyncRun(started_at=now, signpost=now - policy.lag, since=since)
    return replace(cursor, run=run)


def advance(
    cursor: Cursor,
    page: Sequence[RecordVersion],
    *,
    next_page: str | None,
    timezones: TimeZones,
    policy: CursorPolicy = DEFAULT_POLICY,
) -> Advanced:
    """Take one page of the run: which versions are fresh, and the cursor to commit with them."""
    run = _running(cursor)
    fresh: list[RecordVersion] = []
    seen = dict(run.seen)
    high = run.high
    for version in page:
        token = version.token
        if token in cursor.boundary or token in seen:
            continue
        fresh.append(version)
        if version.updated_at is not None:
            seen[token] = _epoch(version.updated_at)
            high = version.updated_at if high is None else max(high, version.updated_at)
    floor = _floor(_candidate(cursor.bookmark, high, run.signpost), timezones, policy)
    run = replace(
        run, high=high, seen=_prune(seen, floor), next_page=next_page, pages=run.pages + 1
    )
    return Advanced(
        cursor=replace(cursor, run=run), fresh=tuple(fresh), repeats=len(page) - len(fresh)
    )


def finish(
    cursor: Cursor,
    *,
    timezones: TimeZones,
    policy: CursorPolicy = DEFAULT_POLICY,
) -> Cursor:
    """End the run after its last page: move the bookmark, keep the next boundary's tokens."""
    run = _running(cursor)
    bookmark = _candidate(cursor.bookmark, run.high, run.signpost)
    floor = _floor(bookmark, timezones, policy)
    boundary = _prune({**cursor.boundary, **run.seen}, floor)
    return replace(cursor, bookmark=bookmark, boundary=boundary, run=None)


def is_new_version(
    stored_updated_at: datetime | None,
    incoming_updated_at: datetime | None,
    *,
    stored_digest: str | None = None,
    incoming_digest: str | None = None,
) -> bool:
    """Whether `incoming` may replace `stored`: an older version never overwrites a newer one.

    Later `updated_at` wins. On a tie (DrChrono has seconds precision) the incoming version
    wins only when both digests are given and differ: pass digests only for objects fetched
    just now, which are at least as new as anything stored. Without an `updated_at` on either
    side there is nothing to order by, so the incoming version wins when it differs.
    """
    if stored_updated_at is None or incoming_updated_at is None:
        return stored_digest is None or stored_digest != incoming_digest
    if incoming_updated_at != stored_updated_at:
        return incoming_updated_at > stored_updated_at
    return (
        stored_digest is not None
        and incoming_digest is not None
        and stored_digest != incoming_digest
    )


def _running(cursor: Cursor) -> SyncRun:
    if cursor.run is None:
        raise ValueError("no sync run in progress: call start() first")
    return cursor.run


def _candidate(bookmark: datetime | None, high: datetime | None, signpost: datetime) -> datetime:
    """The bookmark this run earns so far: capped by the signpost, never moving backwards.

    A run that found nothing keeps the old bookmark (the first one takes the signpost)."""
    if high is None:
        return signpost if bookmark is None else bookmark
    earned = min(high, signpost)
    return earned if bookmark is None else max(bookmark, earned)


def _floor(bookmark: datetime, timezones: TimeZones, policy: CursorPolicy) -> int:
    _, floor = since_window(bookmark - policy.overlap, timezones)
    return _epoch(floor)


def _prune(tokens: Mapping[str, int], floor: int) -> dict[str, int]:
    return {token: at for token, at in tokens.items() if at >= floor}


def _epoch(instant: datetime) -> int:
    return math.floor(instant.timestamp())


def _require_aware(instant: datetime) -> None:
    if instant.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(UTC).isoformat()


def _parse(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _tokens(value: object) -> dict[str, int]:
    return {str(k): int(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _run_json(run: SyncRun) -> dict[str, object]:
    return {
        "started_at": _iso(run.started_at),
        "signpost": _iso(run.signpost),
        "since": None if run.since is None else run.since.isoformat(),
        "high": _iso(run.high),
        "seen": dict(run.seen),
        "next_page": run.next_page,
        "pages": run.pages,
    }


def _run_from_json(data: Mapping[str, object]) -> SyncRun:
    since = data.get("since")
    started, signpost = _parse(data.get("started_at")), _parse(data.get("signpost"))
    if started is None or signpost is None:
        raise ValueError("a stored sync run needs started_at and signpost")
    pages = data.get("pages")
    return SyncRun(
        started_at=started,
        signpost=signpost,
        since=date.fromisoformat(since) if isinstance(since, str) else None,
        high=_parse(data.get("high")),
        seen=_tokens(data.get("seen")),
        next_page=str(data["next_page"]) if data.get("next_page") else None,
        pages=pages if isinstance(pages, int) else 0,
    )
