"""The refusal log: counts per minute and (application, reason, event), names only when
DrChrono sends them, a bounded number of keys per minute whatever arrives, and no count lost
when a write fails or is cancelled."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from chronobridge.ingress._refusals import RefusalLog, flush
from chronobridge.store import Database

T0 = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)


def _counts(log: RefusalLog, before: datetime | None = None) -> dict[tuple[object, ...], int]:
    return {
        (key.minute.minute, key.ref, key.reason, key.event): n for key, n in log.take(before=before)
    }


def test_refusals_are_counted_per_minute_and_kind() -> None:
    log = RefusalLog()
    for second in range(30):
        log.note("signature_mismatch", ref="app-1", event="PATIENT_MODIFY",
                 now=T0 + timedelta(seconds=second))  # fmt: skip
    log.note("signature_mismatch", event="PATIENT_MODIFY", now=T0 + timedelta(minutes=1))
    log.note("unsupported_media_type", now=T0 + timedelta(minutes=1))
    assert len(log) == 32
    assert _counts(log, before=T0.replace(minute=1, second=0)) == {
        (0, "app-1", "signature_mismatch", "PATIENT_MODIFY"): 30,
    }
    assert _counts(log) == {
        (1, None, "signature_mismatch", "PATIENT_MODIFY"): 1,
        (1, None, "unsupported_media_type", None): 1,
    }
    assert len(log) == 0


def test_only_names_drchrono_sends_and_plain_references_are_kept() -> None:
    log = RefusalLog()
    log.note("bad_event", ref="demo-client-id", event="CANARY-SECRET-EVENT", now=T0)
    log.note("signature_mismatch", ref="x" * 65, event="PING", now=T0)
    log.note("signature_mismatch", ref="a/b?c=<script>", event="PATIENT_FLAG_MODIFY", now=T0)
    assert _counts(log) == {
        (0, "demo-client-id", "bad_event", None): 1,
        (0, None, "signature_mismatch", "PING"): 1,
        (0, None, "signature_mismatch", "PATIENT_FLAG_CMODIFY"): 1,  # the alias's event
    }


def test_a_minute_keeps_a_bounded_number_of_keys() -> None:
    log = RefusalLog(max_keys=5)
    references = [f"app-{n}" for n in range(1000)]
    for n, ref in enumerate(references):
        log.note("signature_mismatch" if n % 2 else "unknown_app", ref=ref, now=T0)
    counts = _counts(log)
    assert sum(counts.values()) == 1000  # every refusal counted
    assert len(counts) <= 5 + 2  # the first keys, then one per reason
    assert (
        counts[(0, None, "signature_mismatch", None)] + counts[(0, None, "unknown_app", None)]
        >= 995
    )


class _Away:
    """A database whose writes fail (`hang=False`) or never finish (`hang=True`)."""

    def __init__(self, *, hang: bool) -> None:
        self.hang = hang

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[None]:
        if self.hang:
            await asyncio.Event().wait()
        raise OSError("database is away")
        yield


async def test_a_failed_write_keeps_the_counts_for_the_next_flush() -> None:
    log = RefusalLog()
    log.note("signature_mismatch", event="PATIENT_MODIFY", now=T0)
    with pytest.raises(OSError, match="away"):
        await flush(cast(Database, _Away(hang=False)), log, everything=True)
    assert len(log) == 1
    assert _counts(log) == {(0, None, "signature_mismatch", "PATIENT_MODIFY"): 1}


async def test_a_write_cancelled_at_shutdown_keeps_the_counts_for_the_last_flush() -> None:
    log = RefusalLog()
    for _ in range(3):
        log.note("signature_mismatch", now=T0)
    writing = asyncio.create_task(flush(cast(Database, _Away(hang=True)), log, everything=True))
    await asyncio.sleep(0.01)
    assert len(log) == 0  # taken, the write in flight
    writing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writing
    assert _counts(log) == {(0, None, "signature_mismatch", None): 3}
