"""Calls per full sync against the API's minimum, over a real socket.

    python -m bench sync_calls

The emulator (10,000 patients, 50,000 appointments) runs in its own process. A fresh store
backfills doctors (time zones), then patients (batch endpoint) and appointments (list pages:
appointments have no batch endpoint), counting the calls the emulator served. The minimum is
ceil(N / largest page the resource allows), read from the catalog (the batch submit's
page_size_max where the engine uses a batch, else the list's); the constant on top is the
batch's submit and status polls. The engine is built as the hub builds it (the production
ingest hooks: the patient match index), so the records per second, end to end, describe the
shipped code: per wall second and per CPU second of this process (the emulator has its own,
so the CPU figure holds up on a loaded machine). Asserts nothing.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from pathlib import Path

from bench._sync_support import Served, emulator

PATIENTS, APPOINTMENTS = 10_000, 50_000


Row = tuple[str, int, int, int, float, float]


async def _sync(served: Served, folder: Path) -> list[Row]:
    from chronobridge.domain.mappings import default_mapping
    from chronobridge.store import Apps, AppSpec, KeyRing, open_database
    from chronobridge.sync import StaticClients, SyncEngine
    from chronobridge.wiring import ingest_hooks

    db = await open_database(
        f"sqlite+aiosqlite:///{folder / 'hub.sqlite'}", keys=KeyRing.generate()
    )
    spec = AppSpec(name="bench", client_id="bench", client_secret="x", redirect_uris=("http://x/",))  # noqa: S106
    app = (await Apps(db).ensure(spec)).id
    clients = StaticClients(access_token=served.token, base_url=served.url)
    engine = SyncEngine(db, clients, default_mapping(), hooks=ingest_hooks(db))
    rows = []
    try:
        for resource in ("doctors", "patients", "appointments"):
            largest = _largest_page(resource, batch=engine.options.use_batch)
            before, started, cpu = served.calls(), time.perf_counter(), time.process_time()
            report = await engine.run(app, resource)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            calls = served.calls() - before
            rows.append((resource, report.records, calls, largest, seconds, cpu))
    finally:
        await db.close()
    return rows


def _largest_page(resource: str, *, batch: bool) -> int:
    """The largest page of the operation a backfill reads, from the catalog."""
    from chronobridge.sync import plan_for

    plan = plan_for(resource)
    return plan.batch_page_size if batch and plan.batch_page_size else plan.page_size


def run() -> None:
    with emulator(PATIENTS, APPOINTMENTS) as served, tempfile.TemporaryDirectory() as folder:
        rows = asyncio.run(_sync(served, Path(folder)))
    print(f"{'resource':<14}{'records':>9}{'calls':>7}{'minimum':>9}{'extra':>7}{'page':>7}"
          f"{'rec/s':>9}{'rec/cpu-s':>11}")  # fmt: skip
    for resource, records, calls, largest, seconds, cpu in rows:
        minimum = math.ceil(records / largest) if records else 1
        rate, cpu_rate = _per(records, seconds), _per(records, cpu)
        print(f"{resource:<14}{records:>9,}{calls:>7}{minimum:>9}{calls - minimum:>7}"
              f"{largest:>7,}{rate:>9,.0f}{cpu_rate:>11,.0f}")  # fmt: skip


def _per(records: int, seconds: float) -> float:
    return records / seconds if seconds else 0.0
