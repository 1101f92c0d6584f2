"""Calls per full sync against the API's minimum, over a real socket.

    python -m bench sync_calls

The emulator (10,000 patients, 50,000 appointments) runs in its own process. A fresh store
backfills doctors (time zones), then patients (batch endpoint: pages of 1,000) and appointments
(list pages of 250: appointments have no batch endpoint), counting the calls the emulator
served. The minimum is ceil(N / largest page the resource allows); the constant on top is the
batch's submit and status polls. Also prints records per second end to end. Asserts nothing.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from pathlib import Path

from bench._sync_support import Served, emulator

PATIENTS, APPOINTMENTS = 10_000, 50_000


async def _sync(served: Served, folder: Path) -> list[tuple[str, int, int, int, float]]:
    from chronobridge.domain.mappings import default_mapping
    from chronobridge.store import Apps, AppSpec, KeyRing, open_database
    from chronobridge.sync import StaticClients, SyncEngine

    db = await open_database(
        f"sqlite+aiosqlite:///{folder / 'hub.sqlite'}", keys=KeyRing.generate()
    )
    spec = AppSpec(name="bench", client_id="bench", client_secret="x", redirect_uris=("http://x/",))  # noqa: S106
    app = (await Apps(db).ensure(spec)).id
    engine = SyncEngine(db, StaticClients(access_token=served.token, base_url=served.url),
                        default_mapping())  # fmt: skip
    rows = []
    try:
        for resource, largest in (("doctors", 250), ("patients", 1000), ("appointments", 250)):
            before, started = served.calls(), time.perf_counter()
            report = await engine.run(app, resource)
            seconds = time.perf_counter() - started
            rows.append((resource, report.records, served.calls() - before, largest, seconds))
    finally:
        await db.close()
    return rows


def run() -> None:
    with emulator(PATIENTS, APPOINTMENTS) as served, tempfile.TemporaryDirectory() as folder:
        rows = asyncio.run(_sync(served, Path(folder)))
    print(f"{'resource':<14}{'records':>9}{'calls':>7}{'minimum':>9}{'extra':>7}{'rec/s':>9}")
    for resource, records, calls, largest, seconds in rows:
        minimum = math.ceil(records / largest) if records else 1
        rate = records / seconds if seconds else 0.0
        print(f"{resource:<14}{records:>9,}{calls:>7}{minimum:>9}{calls - minimum:>7}{rate:>9,.0f}")
