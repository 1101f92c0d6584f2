"""Peak memory of a 100,000-record sync against a 10,000-record one (aim: within 10 %).

    python -m bench sync_memory

Each sync runs in a fresh process against the emulator (in its own process, over a real
socket): a patients backfill through the batch endpoint into a fresh SQLite store, by the
engine as the hub builds it (default mapping, the production ingest hooks of
`wiring.ingest_hooks`: the patient match index and duplicate reviews). The child reports its
peak RSS and tracemalloc's peak of Python allocations during the sync.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

from bench._sync_support import ROOT, emulator

SIZES = (10_000, 100_000)

CHILD = r"""
import asyncio, json, sys, tracemalloc
from pathlib import Path
from chronobridge.domain.mappings import default_mapping
from chronobridge.store import Apps, AppSpec, KeyRing, open_database
from chronobridge.sync import StaticClients, SyncEngine
from chronobridge.wiring import ingest_hooks

async def main(url, token, folder):
    db = await open_database(f"sqlite+aiosqlite:///{folder}/hub.sqlite", keys=KeyRing.generate())
    spec = AppSpec(name="b", client_id="b", client_secret="x", redirect_uris=("http://x/",))
    app = (await Apps(db).ensure(spec)).id
    clients = StaticClients(access_token=token, base_url=url)
    engine = SyncEngine(db, clients, default_mapping(), hooks=ingest_hooks(db))
    await engine.run(app, "doctors")
    tracemalloc.start()
    report = await engine.run(app, "patients")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    await db.close()
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across fork and exec, so a
    # child of a big parent (make bench runs the other benchmarks first) reports the parent's.
    hwm = [l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM")]
    rss = int(hwm[0].split()[1]) * 1024
    print(json.dumps({"records": report.records, "traced_peak": peak, "rss_peak": rss}))

asyncio.run(main(*sys.argv[1:4]))
"""


def _one(size: int) -> dict[str, int]:
    with emulator(size, 0) as served, tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, served.url, served.token, folder],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
    result: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run() -> None:
    results = {size: _one(size) for size in SIZES}
    for size, found in results.items():
        print(f"{size:>8,} patients: {found['records']:>8,} records, peak RSS "
              f"{found['rss_peak'] / 2**20:7.1f} MiB, traced Python peak "
              f"{found['traced_peak'] / 2**20:6.1f} MiB")  # fmt: skip
    small, large = (results[s] for s in SIZES)
    for key, label in (("rss_peak", "RSS"), ("traced_peak", "traced")):
        print(f"{label}: 100,000 / 10,000 = {large[key] / small[key]:.2f} (aim: <= 1.10)")
