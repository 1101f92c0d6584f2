"""Two worker processes create the same new patient at the same moment: DrChrono gets exactly
one patient, and both callers get its id (SQLite and PostgreSQL, emulator on a real socket).

- same change: both submit identical values; the outbox row (unique idempotency key) is one,
  one process sends it and the other waits for its outcome;
- same person: the values differ (case, spaces, another phone, no email), so the outbox rows
  differ; the create lock (unique per normalized name and birth date) makes the second wait,
  and its lookup then finds the patient the first created.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from wb_support import NEW_PATIENT, over_socket

from chronobridge.emulator import EmulatorConfig, create_app
from chronobridge.store import KeyRing, open_database
from support.servers import running_server

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent.parent
SAME_PERSON = {
    **{k: v for k, v in NEW_PATIENT.items() if k != "email"},
    "first_name": " QUORRA",
    "last_name": "vantablack ",
    "phone_mobile": "+12175550199",
}


def racers(env: dict[str, str], payloads: list[dict[str, Any]]) -> list[subprocess.Popen[str]]:
    path = os.pathsep.join([str(HERE), str(TESTS), os.environ.get("PYTHONPATH", "")])
    procs = []
    for payload in payloads:
        child = {**os.environ, **env, "PYTHONPATH": path, "WB_VALUES": json.dumps(payload)}
        procs.append(
            subprocess.Popen(
                [sys.executable, str(HERE / "wb_racer.py")],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=child,
            )
        )
    return procs


def release(procs: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == "ready", (line, proc.stderr.read() if proc.stderr else "")
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.mark.parametrize("variant", ["same change", "same person"])
async def test_two_processes_creating_one_patient_make_one(
    database_url: str, keyring: KeyRing, variant: str
) -> None:
    second = NEW_PATIENT if variant == "same change" else SAME_PERSON
    db = await open_database(database_url, keys=keyring)
    try:
        with running_server(create_app(EmulatorConfig(patients=6, appointments=6))) as base:
            async with over_socket(db, base) as rig:
                env = {
                    "WB_DB_URL": database_url,
                    "WB_KEYS": ",".join(k.decode() for k in keyring.keys),
                    "WB_TOKEN": rig.token,
                    "WB_BASE_URL": base,
                    "WB_APP": str(rig.app_id),
                    "WB_CONNECTION": str(rig.connection_id),
                }
                results = release(racers(env, [NEW_PATIENT, second]))
                born = await rig.get("/api/patients", date_of_birth=NEW_PATIENT["date_of_birth"])
                created = born["results"]
    finally:
        await db.close()
    assert len(created) == 1, created
    assert [r["status"] for r in results] == ["done", "done"], results
    assert {r["drchrono_id"] for r in results} == {str(created[0]["id"])}
    if variant == "same change":
        assert results[0]["writeback"] == results[1]["writeback"]
    else:
        assert sorted(r["matched_existing"] for r in results) == [False, True]
