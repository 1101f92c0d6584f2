"""`chronobridge sync --list` says exactly what the engine does with its default options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from chronobridge.sync import EngineOptions, Strategy, plan_for, syncable


def _listed() -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "chronobridge", "sync", "--list"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {}
    for line in done.stdout.splitlines()[1:]:
        name, _, rest = line.partition(" ")
        rows[name] = rest
    return rows


def test_the_list_advertises_what_the_engine_does_and_nothing_more() -> None:
    rows = _listed()
    assert set(rows) == set(syncable())
    refreshed = {n for n, text in rows.items() if "per-patient refresh" in text}
    assert refreshed == set(EngineOptions().refresh_resources)
    assert all(plan_for(n).patient_filter for n in refreshed)
    assert "batch pages of 20,000" in rows["clinical_note_field_values"]
    assert "batch pages of 1,000" in rows["eligibility_checks"]
    assert "reconciled weekly" in rows["tasks"]  # TASK_DELETE webhooks may be lost
    assert "reconciled daily" in rows["patients"]
    assert "reconciled" not in rows["allergies"]  # every scan is a complete pass


def test_the_docs_count_the_lists_as_the_catalog_does() -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "sync.md").read_text()
    plans = [plan_for(n) for n in syncable()]
    since_lists = [p for p in plans if p.strategy is Strategy.SINCE and not p.batch]
    batched = [p for p in plans if p.strategy is Strategy.SINCE and p.batch]
    scans = [p for p in plans if p.strategy is Strategy.SCAN]
    assert f"{len(plans)} lists can be synced" in docs
    assert f"({len(since_lists)} in all:" in docs
    assert f"{len(batched)} lists |" in docs
    assert f"lists without `since` ({len(scans)}:" in docs
