"""Records mapped and stored per second on SQLite, against bare inserts of the same rows.

    python -m bench sync_speed

10,000 patients rendered exactly as the emulator's list pages carry them go through `ingest`
in pages of 1,000 (prepare: canonical JSON + SHA-256 + UTC times; map with the default mapping;
encrypt the raw JSON and the mapped row; upsert records and model rows; insert change events)
into a fresh SQLite store. The baseline, in the same run: the same 10,000 rows inserted bare
into the records table (plaintext JSON, no mapping, no encryption, no events), also in pages of
1,000. Then an idempotent second pass (every record unchanged). Aim: >= 5,000 records/s.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

N, PAGE = 10_000, 1_000


def _records() -> list[dict[str, Any]]:
    from chronobridge.catalog import CATALOG
    from chronobridge.emulator import EmulatorConfig, create_app
    from chronobridge.emulator._serialize import renderer

    state = create_app(EmulatorConfig(patients=N, appointments=0)).state.emulator
    schema = CATALOG.resources["patients"].schema
    render = renderer(state)
    return [render.wire(schema, r, m, verbose=False) for r, m in state.records.scan("patients")][:N]


def _rates(count: int, started: float, cpu: float) -> tuple[float, float]:
    """(records per wall-clock second, per CPU second of this process: its own threads)."""
    return count / (time.perf_counter() - started), count / (time.process_time() - cpu)


async def _measure(folder: Path, records: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    from chronobridge.domain.events import ChangeSource
    from chronobridge.domain.mappings import default_mapping
    from chronobridge.domain.timezones import TimeZones
    from chronobridge.store import Apps, AppSpec, KeyRing, open_database
    from chronobridge.store.tables import records as records_table
    from chronobridge.sync import ingest

    db = await open_database(
        f"sqlite+aiosqlite:///{folder / 'hub.sqlite'}", keys=KeyRing.generate()
    )
    spec = AppSpec(name="bench", client_id="bench", client_secret="x", redirect_uris=("http://x/",))  # noqa: S106
    app = (await Apps(db).ensure(spec)).id
    zones = TimeZones.from_doctors([{"id": 268001, "timezone": "US/Eastern"}])
    mapping = default_mapping()

    async def sync_pass() -> tuple[float, float]:
        started, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(records), PAGE):
            await ingest(db, app_id=app, resource="patients", records=records[start:start + PAGE],
                         source=ChangeSource.POLL, connection_id=None, timezones=zones,
                         mapping=mapping)  # fmt: skip
        return _rates(len(records), started, cpu)

    async def bare() -> tuple[float, float]:
        now = datetime.now(UTC)
        started, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(records), PAGE):
            rows = [
                {"app_id": app, "resource": "bare", "external_id": str(r["id"]),
                 "updated_at": now, "digest": "-", "payload": json.dumps(r),
                 "first_seen_at": now, "last_seen_at": now}
                for r in records[start:start + PAGE]
            ]  # fmt: skip
            async with db.write() as tx:
                await tx.execute(records_table.insert(), rows)
        return _rates(len(records), started, cpu)

    try:
        return {"bare": await bare(), "first": await sync_pass(), "again": await sync_pass()}
    finally:
        await db.close()


def run() -> None:
    records = _records()
    with tempfile.TemporaryDirectory() as folder:
        rates = asyncio.run(_measure(Path(folder), records))
    print(f"{'':52}{'wall':>10}{'CPU':>10}   records/s")
    for key, label in (
        ("bare", "baseline: bare inserts (plaintext, no mapping)"),
        ("first", "ingest: map + encrypt + store + events"),
        ("again", "ingest again: every record unchanged"),
    ):
        wall, cpu = rates[key]
        print(f"{label:52}{wall:>10,.0f}{cpu:>10,.0f}")
    ratio = rates["first"][1] / rates["bare"][1]
    print(f"ingest / baseline (CPU): {ratio:.2f}   aim: ingest >= 5,000 records/s")
    print("wall-clock figures depend on the machine's load; CPU figures much less so")
