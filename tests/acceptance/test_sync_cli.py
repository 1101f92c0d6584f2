"""`chronobridge sync`, `store get|list` and `errors list|retry` as a user runs them: a fresh
home, `chronobridge connect` against the emulator on a real socket, then the sync commands."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from chronobridge.domain.mappings import default_text
from chronobridge.emulator import EmulatorConfig, EmulatorState, create_app
from chronobridge.emulator._config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from support.servers import running_server

PATIENTS = 400


@dataclass
class Hub:
    home: Path
    url: str
    state: EmulatorState

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("CHRONOBRIDGE_")}
        env = {
            **base,
            "CHRONOBRIDGE_HOME": str(self.home),
            "CHRONOBRIDGE_DRCHRONO_URL": self.url,
            "CHRONOBRIDGE_CLIENT_ID": DEFAULT_CLIENT_ID,
            "CHRONOBRIDGE_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            "PYTHONUNBUFFERED": "1",
        }
        return subprocess.run(
            [sys.executable, "-m", "chronobridge", *args],
            capture_output=True, text=True, env=env, timeout=180, check=False,
        )  # fmt: skip


@contextlib.contextmanager
def connected_hub(tmp_path: Path) -> Iterator[Hub]:
    config = EmulatorConfig(
        patients=PATIENTS, appointments=600, auto_approve="doctor1",
        extra={"batch_ready_seconds": "0"},
    )  # fmt: skip
    app = create_app(config)
    with running_server(app) as url:
        hub = Hub(home=tmp_path / "home", url=url, state=app.state.emulator)
        connected = hub("connect")
        assert connected.returncode == 0, connected.stderr
        yield hub


def test_sync_prints_progress_and_a_summary_then_the_store_reads_back(tmp_path: Path) -> None:
    with connected_hub(tmp_path) as hub:
        done = hub("sync", "patients", "appointments")
        assert done.returncode == 0, done.stderr
        assert "patients: 1 pages, 400 records" in done.stderr  # progress (plain in a pipe)
        lines = done.stdout.splitlines()
        assert lines[0].split()[:3] == ["RESOURCE", "MODE", "STATUS"]
        assert lines[1].split()[:5] == ["patients", "backfill", "done", "1", "400"]
        assert lines[2].split()[:5] == ["appointments", "backfill", "done", "3", "600"]
        assert lines[-1].startswith("synced 2 resources: 1,000 records read")
        again = hub("sync", "patients", "--format", "json")
        assert json.loads(again.stdout)[0]["mode"] == "incremental"
        listed = hub("store", "list", "patients", "--limit", "2")
        assert listed.stdout.splitlines()[1].split()[1] == "86800001"
        assert "example.test" not in listed.stdout  # ids and times only
        shown = json.loads(hub("store", "get", "patients", "86800001", "--reason", "test").stdout)
        assert shown["record"]["id"] == 86800001
        assert shown["model_rows"][0]["model"] == "patient"
        assert shown["model_rows"][0]["values"]["email"].endswith("@example.test")
        dumped = json.loads(hub("store", "list", "patients", "--format", "json").stdout)
        assert len(dumped) == 50
        audit = _audit_actions(hub)
    assert audit.count("record.view") == 1
    assert audit.count("record.list") == 1


def test_unmapped_records_are_listed_then_retried_after_the_mapping_is_fixed(
    tmp_path: Path,
) -> None:
    gender = '        codes: {Male: M, Female: F, Other: O, UNK: U, ASKU: U, "": U}\n'
    assert gender in default_text()
    strict = default_text().replace(gender, gender.replace("Male: M, ", ""))
    strict_file = tmp_path / "strict.yaml"
    strict_file.write_text(strict.replace("version: 1", "version: 2"))
    fixed_file = tmp_path / "fixed.yaml"
    fixed_file.write_text(default_text().replace("version: 1", "version: 3"))
    with connected_hub(tmp_path) as hub:
        male = sum(
            1 for record, meta in hub.state.records.scan("patients")
            if record.get("gender") == "Male" and meta.practice == 5471
        )  # fmt: skip
        synced = hub("sync", "patients", "--mapping", str(strict_file))
        assert synced.returncode == 0, synced.stderr
        assert synced.stdout.splitlines()[1].split()[8] == str(male)  # UNMAPPED
        listed = hub("errors", "list", "--format", "json", "--limit", "1000")
        errors = json.loads(listed.stdout)
        assert len(errors) == male
        found = {(e["model"], e["field"], e["rule"]) for e in errors}
        assert found == {("patient", "gender", "codes")}
        assert all("Male" not in e["reason"] for e in errors)  # never the value
        still = hub("errors", "retry", "--mapping", str(strict_file))
        assert still.returncode == 1
        retried = hub("errors", "retry", "--mapping", str(fixed_file))
        assert retried.returncode == 0, retried.stderr
        expected = f"retried {male} records: {male} mapped now, 0 still failing"
        assert retried.stdout.strip() == expected
        assert hub("errors", "list").stdout.strip() == "No mapping errors."
        shown = json.loads(hub("store", "get", "patients", errors[0]["external_id"]).stdout)
        assert shown["model_rows"][0]["values"]["gender"] == "M"
        assert shown["model_rows"][0]["mapping_version"] == 3


def _audit_actions(hub: Hub) -> list[str]:
    with contextlib.closing(sqlite3.connect(hub.home / "hub.sqlite")) as conn:
        return [row[0] for row in conn.execute("SELECT action FROM audit_log ORDER BY seq")]
