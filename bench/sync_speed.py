"""Records mapped and stored per second on SQLite, against bare inserts of the same rows.

    python -m bench sync_speed

Everything runs as the hub ships it: the default mapping and the production ingest hooks
(`wiring.ingest_hooks`: the patient match index and duplicate reviews), into a fresh SQLite
store, in this process. Three measurements, each against the baseline of the same run:

- **baseline**: 10,000 patients inserted bare into the records table, pages of 1,000
  (plaintext JSON, no mapping, no encryption, no events, no hooks).
- **ingest()**: the same patients through `ingest` in pages of 1,000 (prepare: canonical JSON,
  SHA-256, UTC times; map; encrypt raw and mapped rows; upsert records and model rows; change
  events), into a store of its own without hooks, then with them (the patient match index,
  whose share this shows), then again with every record unchanged.
- **engine**: full backfills of 10,000 patients (batch pages of 1,000) and 10,000
  appointments (list pages of 250) by `SyncEngine.run`, the path every sync takes: per page,
  the HTTP answer staged encrypted, then rows + hooks + cursor + run counters in one
  transaction, and the run's start and end. The answers were recorded from the emulator first
  and are replayed by a MockTransport, so no emulator work is in the figures; the client's
  own reading of the answers is, and is shown alone ("client alone: replayed answers read"),
  and subtracted for the store-side figure.

Rates are per wall-clock second and per CPU second of this process (SQLite runs in a thread
of it): on a loaded machine the CPU figure is the one to compare. Aim: >= 5,000 records/s.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._sync_support import BASE, Recording, clients, engine, fresh_store, record, replay

N, PAGE, AIM = 10_000, 1_000, 5_000
ENGINE = ("patients", "appointments")

Timing = tuple[int, float, float]
"""(records, wall seconds, CPU seconds)."""


async def _timed(count: int, work: Callable[[], Awaitable[Any]]) -> Timing:
    started, cpu = time.perf_counter(), time.process_time()
    await work()
    return count, time.perf_counter() - started, time.process_time() - cpu


def _records() -> list[dict[str, Any]]:
    from chronobridge.catalog import CATALOG
    from chronobridge.emulator import EmulatorConfig, create_app
    from chronobridge.emulator._serialize import renderer

    state = create_app(EmulatorConfig(patients=N, appointments=0)).state.emulator
    schema = CATALOG.resources["patients"].schema
    render = renderer(state)
    return [render.wire(schema, r, m, verbose=False) for r, m in state.records.scan("patients")][:N]


async def _ingest_passes(
    folder: Path, records: list[dict[str, Any]], *, hooks: bool
) -> dict[str, Timing]:
    from chronobridge.domain.events import ChangeSource
    from chronobridge.domain.mappings import default_mapping
    from chronobridge.domain.timezones import TimeZones
    from chronobridge.store.tables import records as records_table
    from chronobridge.sync import ingest
    from chronobridge.wiring import ingest_hooks

    zones = TimeZones.from_doctors([{"id": 268001, "timezone": "US/Eastern"}])
    mapping = default_mapping()
    async with fresh_store(folder) as (db, app):
        chosen = ingest_hooks(db) if hooks else ()

        async def sync_pass() -> None:
            for start in range(0, len(records), PAGE):
                page = records[start : start + PAGE]
                await ingest(db, app_id=app, resource="patients", records=page,
                             source=ChangeSource.POLL, connection_id=None, timezones=zones,
                             mapping=mapping, hooks=chosen)  # fmt: skip

        async def bare() -> None:
            now = datetime.now(UTC)
            for start in range(0, len(records), PAGE):
                rows = [
                    {"app_id": app, "resource": "bare", "external_id": str(r["id"]),
                     "updated_at": now, "digest": "-", "payload": json.dumps(r),
                     "first_seen_at": now, "last_seen_at": now}
                    for r in records[start:start + PAGE]
                ]  # fmt: skip
                async with db.write() as tx:
                    await tx.execute(records_table.insert(), rows)

        count = len(records)
        return {
            "bare": await _timed(count, bare),
            "first": await _timed(count, sync_pass),
            "again": await _timed(count, sync_pass),
        }


async def _engine_runs(folder: Path, recording: Recording) -> dict[str, Timing]:
    timings: dict[str, Timing] = {}
    async with fresh_store(folder) as (db, app):
        runner = engine(db, clients(recording, replay(recording)))
        await runner.run(app, "doctors")
        for resource in ENGINE:
            report: list[int] = []

            async def run(name: str = resource, out: list[int] = report) -> None:
                out.append((await runner.run(app, name)).records)

            _, wall, cpu = await _timed(0, run)
            timings[resource] = (report[0], wall, cpu)
    return timings


async def _client_alone(recording: Recording) -> dict[str, Timing]:
    """The recorded requests of each resource sent again through the client: what the engine
    spends reading the answers, nothing stored."""
    from chronobridge.client import DrChronoClient, MemoryTokenSource

    timings: dict[str, Timing] = {}
    transport = replay(recording)
    async with DrChronoClient(
        tokens=MemoryTokenSource(recording.token), base_url=BASE, transport=transport
    ) as client:
        for resource in ENGINE:
            requests = recording.requests[resource]

            async def read(keys: list[Any] = requests) -> None:
                for method, path, query in keys:
                    await client.request(method, path, params=dict(query) or None)

            timings[resource] = await _timed(0, read)
    return timings


def _line(label: str, timing: Timing, baseline: Timing | None = None) -> str:
    count, wall, cpu = timing
    text = f"{label:58}{count:>8,}{count / wall:>9,.0f}{count / cpu:>9,.0f}"
    if baseline is not None:
        text += f"{(count / cpu) / (baseline[0] / baseline[2]):>8.2f}"
    return text


def run() -> None:
    records = _records()
    recording = asyncio.run(record(N, N, ENGINE))
    with tempfile.TemporaryDirectory() as folder:
        bare = asyncio.run(_ingest_passes(Path(folder, "a"), records, hooks=False))
        passes = asyncio.run(_ingest_passes(Path(folder, "b"), records, hooks=True))
        engines = asyncio.run(_engine_runs(Path(folder, "c"), recording))
    reading = asyncio.run(_client_alone(recording))
    base = passes["bare"]
    print(f"{'':58}{'records':>8}{'wall/s':>9}{'CPU/s':>9}{'/base':>8}   (records per second)")
    print(_line("baseline: bare inserts (plaintext, no mapping, no hooks)", base))
    print(_line("ingest() without hooks: map + encrypt + store + events", bare["first"], base))
    print(_line("ingest(): the same with the production hooks", passes["first"], base))
    print(_line("ingest() again: every record unchanged", passes["again"], base))
    for resource in ENGINE:
        print(
            _line(f"engine, {resource}: stage + ingest + hooks + cursor", engines[resource], base)
        )
    for resource in ENGINE:
        count, wall, cpu = engines[resource]
        _, read_wall, read_cpu = reading[resource]
        print(_line(f"  client alone: {resource} answers read", (count, read_wall, read_cpu)))
        store_side = (count, wall - read_wall, cpu - read_cpu)
        print(_line(f"  engine minus client: {resource}, the store side", store_side, base))
    print(
        f"aim: >= {AIM:,} records/s mapped and stored (engine, per wall second of an idle machine)"
    )
    print("wall-clock figures depend on the machine's load; CPU figures much less so")
