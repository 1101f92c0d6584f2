"""A bounded record of refused webhook requests, for whoever debugs "my webhooks fail".

The inbox stores only deliveries that were correctly signed; refusals are counted in metrics,
which an operator may not have. So the receiver also counts each refusal here, in memory, per
minute and (application, reason, event), and a flusher writes each finished minute once:

- what is kept: the reason code (`signature_mismatch`, `unsupported_media_type`, ...), the
  application when the URL names a known one, the event name when it is one DrChrono sends,
  and a count. Never a body, a signature, a secret, a delivery id or an unknown name: nothing
  a sender controls beyond picking among known names;
- how much: at most `MAX_KEYS` distinct (application, reason, event) per minute; beyond, the
  refusal counts under (no application, its reason, no event), and reasons are a fixed set of
  codes. A flood of 10,000 forgeries of a few kinds is a few rows per minute, one write a
  minute, and never a row in the inbox.

    log = RefusalLog()
    log.note("signature_mismatch", ref="demo-client-id", event="PATIENT_MODIFY")
    await flush(db, log)                 # the finished minutes; `everything=True` at shutdown
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from chronobridge.catalog import CATALOG, PING
from chronobridge.ingress._apps import WebhookApps
from chronobridge.ingress._framing import Rejection
from chronobridge.store import Database, RefusalCount, Refusals

__all__ = ["MAX_KEYS", "RefusalLog", "flush", "flush_periodically"]

log = logging.getLogger("chronobridge.ingress")

MAX_KEYS = 50
"""Distinct (application, reason, event) kept per minute; the rest count per reason only."""
_REF = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True, slots=True)
class _Key:
    minute: datetime
    ref: str | None
    reason: str
    event: str | None


class RefusalLog:
    """Refusals counted in memory until flushed (one event loop: the web server's)."""

    def __init__(self, *, max_keys: int = MAX_KEYS) -> None:
        self._counts: Counter[_Key] = Counter()
        self._per_minute: Counter[datetime] = Counter()
        self._max_keys = max_keys

    def note(
        self,
        reason: str,
        *,
        ref: str | None = None,
        event: str | None = None,
        now: datetime | None = None,
    ) -> None:
        minute = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
        key = _Key(minute, _known_ref(ref), reason[:40], _known_event(event))
        if key not in self._counts:
            if self._per_minute[minute] >= self._max_keys:
                key = _Key(minute, None, reason[:40], None)
            if key not in self._counts:
                self._per_minute[minute] += 1
        self._counts[key] += 1

    def take(self, *, before: datetime | None = None) -> list[tuple[_Key, int]]:
        """Remove and return the counts of the minutes before `before` (all when None)."""
        taken = [(k, n) for k, n in self._counts.items() if before is None or k.minute < before]
        for key, _ in taken:
            del self._counts[key]
        for minute in {key.minute for key, _ in taken}:
            del self._per_minute[minute]
        return taken

    def give_back(self, taken: list[tuple[_Key, int]]) -> None:
        """Return counts that `take` removed but could not be written."""
        for key, count in taken:
            if key not in self._counts:
                self._per_minute[key.minute] += 1
            self._counts[key] += count

    def __len__(self) -> int:
        return sum(self._counts.values())


async def flush(db: Database, refusals: RefusalLog, *, everything: bool = False) -> int:
    """Write the finished minutes (every minute when `everything`); rows written."""
    before = None if everything else datetime.now(UTC).replace(second=0, microsecond=0)
    taken = refusals.take(before=before)
    if not taken:
        return 0
    try:
        return await _write(db, taken)
    except BaseException:  # a failed or cancelled write: the counts wait for the next flush
        refusals.give_back(taken)
        raise


async def _write(db: Database, taken: list[tuple[_Key, int]]) -> int:
    apps = WebhookApps(db)
    resolved = {ref: await _app_id(apps, ref) for ref in {key.ref for key, _ in taken}}
    merged: Counter[tuple[datetime, int | None, str, str | None]] = Counter()
    for key, count in taken:
        merged[(key.minute, resolved[key.ref], key.reason, key.event)] += count
    await Refusals(db).add(
        [
            RefusalCount(minute=m, app_id=a, reason=r, event=e, count=n)
            for (m, a, r, e), n in merged.items()
        ]
    )
    return len(merged)


async def flush_periodically(db: Database, refusals: RefusalLog, *, every: float) -> None:
    """Flush the finished minutes every `every` seconds until cancelled; then the rest."""
    try:
        while True:
            await asyncio.sleep(every)
            try:
                await flush(db, refusals)
            except Exception as error:  # the database may be away: the counts wait in memory
                log.warning("Writing refused webhook counts failed (%s)", type(error).__name__)
    finally:
        try:
            await flush(db, refusals, everything=True)
        except Exception as error:  # the process is ending: say what the log will lack
            log.warning("Writing %d refused webhook counts at shutdown failed (%s)",
                        len(refusals), type(error).__name__)  # fmt: skip


async def _app_id(apps: WebhookApps, ref: str | None) -> int | None:
    """The id of the application a URL named; None for none or a name no application has."""
    if ref is None:
        return None
    try:
        return (await apps.named(ref)).id
    except Rejection:
        return None


def _known_ref(ref: str | None) -> str | None:
    """A URL's application reference, if it looks like one (resolved to an id at flush)."""
    return ref if ref is not None and _REF.fullmatch(ref) else None


def _known_event(event: str | None) -> str | None:
    if event is None:
        return None
    if event == PING:
        return PING
    spec = CATALOG.event(event)
    return spec.name if spec is not None else None
