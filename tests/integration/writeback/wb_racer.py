"""One racer of the create race, in a process of its own: `python wb_racer.py`.

It opens the database itself (its own engine and connections), prints `ready`, waits for `go`
on stdin so that both racers start together, submits a patient create inline, and prints the
result as one JSON line. Everything it needs comes in the environment (keys never on the
command line).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import replace

from wb_support import FAST, services_for

from chronobridge.domain.writeback import ModelChange, WriteAction
from chronobridge.store import KeyRing, open_database
from chronobridge.writeback import model_values, submit


async def main() -> None:
    env = os.environ
    db = await open_database(env["WB_DB_URL"], keys=KeyRing(env["WB_KEYS"].split(",")))
    try:
        settings = replace(FAST, lease=FAST.lease * 4, wait_for_create=60.0)
        services = services_for(
            db, token=env["WB_TOKEN"], base_url=env["WB_BASE_URL"], settings=settings
        )
        values = model_values(services.mapping, "patient", json.loads(env["WB_VALUES"]))
        change = ModelChange(model="patient", action=WriteAction.CREATE, values=values)
        print("ready", flush=True)
        if sys.stdin.readline().strip() != "go":
            return
        result = await submit(
            services,
            change,
            app_id=int(env["WB_APP"]),
            connection_id=int(env["WB_CONNECTION"]),
            inline=True,
        )
        line = {
            "status": result.status.value,
            "writeback": result.writeback_id,
            "drchrono_id": result.drchrono_id,
            "matched_existing": result.matched_existing,
            "message": result.message,
        }
        print(json.dumps(line), flush=True)
    finally:
        await db.close()


if __name__ == "__main__":
    asyncio.run(main())
