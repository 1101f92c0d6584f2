"""A `chronobridge worker`-like process for the sync crash test (run as a script).

It installs the sync engine the way the composition root does (the store-backed connection
clients, the production ingest hooks of `wiring.ingest_hooks`: the patient match index; list
pages of 100, the batch endpoint off, as DP-1 asks) and runs the worker runtime with the sync
workflows until it is killed. Environment: CB_DATABASE_URL (async URL), CB_KEY
(the store's key, also the DBOS cipher), CB_EXECUTOR, CB_PAGE_SIZE.
"""

from __future__ import annotations

import os
import signal
import sys

from chronobridge.connections import Services
from chronobridge.domain.mappings import default_mapping
from chronobridge.store import KeyRing, open_database
from chronobridge.sync import ConnectionClients, EngineOptions, SyncEngine
from chronobridge.sync._context_jobs import install
from chronobridge.sync.workflows import WORKFLOW_MODULE
from chronobridge.wiring import ingest_hooks
from chronobridge.workers import Database, Liveness, WorkerConfig, WorkerRuntime


def main() -> None:
    url, keys = os.environ["CB_DATABASE_URL"], KeyRing([os.environ["CB_KEY"]])
    options = EngineOptions(use_batch=False, page_size=int(os.environ.get("CB_PAGE_SIZE", "100")))

    async def build() -> SyncEngine:
        db = await open_database(url, keys=keys, migrate=False)
        return SyncEngine(
            db,
            ConnectionClients(services=Services(db=db)),
            default_mapping(),
            options=options,
            hooks=ingest_hooks(db),
        )

    install(build)
    runtime = WorkerRuntime(
        WorkerConfig(
            database=Database.parse(url),
            cipher=keys,
            executor_id=os.environ["CB_EXECUTOR"],
            workflow_modules=(WORKFLOW_MODULE,),
            polling_interval_sec=0.05,
            liveness=Liveness(
                heartbeat_interval_sec=0.5, dead_after_sec=600, sweep_interval_sec=300
            ),
            shutdown_timeout_sec=0,
        )
    )
    runtime.start()
    print("crash worker ready", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    runtime.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
