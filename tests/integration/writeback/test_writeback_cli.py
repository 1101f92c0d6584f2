"""The write-back commands as a user runs them: `python -m chronobridge …` in a fresh home
(SQLite), against the emulator on a real socket, after `chronobridge connect`. Each outcome is
one sentence (the created id, or why not) with its exit code, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chronobridge.emulator import EmulatorConfig, EmulatorState, create_app
from chronobridge.emulator._config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from support.servers import running_server

START = datetime(2031, 3, 3, 18, 0, tzinfo=UTC)
PATIENT = {
    "first_name": "Ottoline",
    "last_name": "Brackenbury",
    "date_of_birth": "1969-11-23",
    "gender": "F",
    "provider_id": "268001",
}


@dataclass
class Done:
    code: int
    out: str
    err: str

    def line(self) -> str:
        assert "Traceback" not in self.out + self.err, self.err
        text = self.out if self.code == 0 else self.err
        lines = [line for line in text.splitlines() if line.strip()]
        return lines[-1]


class Cli:
    emulator: EmulatorState

    def __init__(self, home: Path, emulator_url: str) -> None:
        self.home = home
        base = {k: v for k, v in os.environ.items() if not k.startswith("CHRONOBRIDGE_")}
        self.env = {
            **base,
            "CHRONOBRIDGE_HOME": str(home),
            "CHRONOBRIDGE_DRCHRONO_URL": emulator_url,
            "CHRONOBRIDGE_CLIENT_ID": DEFAULT_CLIENT_ID,
            "CHRONOBRIDGE_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
        }

    def __call__(self, *args: str, body: dict[str, Any] | None = None) -> Done:
        stdin = None if body is None else json.dumps(body)
        extra = ["--json", "-"] if body is not None else []
        done = subprocess.run(
            [sys.executable, "-m", "chronobridge", *args, *extra],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            check=False,
        )
        return Done(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def cli(tmp_path: Path) -> Any:
    config = EmulatorConfig(patients=8, appointments=16, auto_approve="doctor1")
    app = create_app(config)
    with running_server(app) as url:
        runner = Cli(tmp_path / "home", url)
        runner.emulator = app.state.emulator
        connected = runner("connect")
        assert connected.code == 0, connected.err
        yield runner


@pytest.mark.slow
def test_patients_and_appointments_from_the_command_line(cli: Cli) -> None:
    """One connected home for both flows (each command is a process start, ~2 s)."""
    _patients_create_update_match_and_the_review_queue(cli)
    _appointments_book_clash_and_reschedule(cli)


def _patients_create_update_match_and_the_review_queue(cli: Cli) -> None:
    created = cli("patients", "create", body=PATIENT)
    assert created.code == 0, created.err
    patient = created.line().split()[2]
    assert created.line().startswith(f"Created patient {patient} in DrChrono. (write-back ")
    stranger = {**PATIENT, "first_name": "Wendeline", "date_of_birth": "1990-01-02"}
    refused = cli("patients", "create", body={**stranger, "provider_id": "99999999"})
    assert refused.code == 4
    assert refused.line().startswith(
        "Error: DrChrono rejected patient.provider_id; nothing changed. "
        "Fix those fields and send again. (write-back "
    )
    exact = cli("patients", "match", body={**PATIENT, "first_name": "OTTOLINE"})
    assert exact.line() == f"Exact match: patient {patient} (rules: name_dob)."
    cousin = {**PATIENT, "first_name": "Orla"}  # same last name, birth date, initial
    held = cli("patients", "create", body=cousin)
    assert held.code == 3
    review = held.line().split("chronobridge matches show ")[1].split()[0]
    assert held.line().startswith(f"Error: Possible match with patient {patient} (rules: ")
    listed = cli("matches", "list").out
    assert f"inbound  open    possible  (new)    {patient}" in listed.replace(review, "", 1)
    shown = json.loads(cli("matches", "show", review, "--reason", "checking").out)
    assert shown["values"]["first_name"] == "Orla"
    dismissed = cli("matches", "dismiss", review, "--create")
    assert dismissed.code == 0, dismissed.err
    assert dismissed.out.splitlines()[0] == f"Review {review} is dismissed."
    assert dismissed.line().startswith("Created patient ")
    updated = cli("patients", "update", patient, body={"email": "o.b@example.test"})
    assert updated.line().startswith(f"Updated patient {patient} in DrChrono. (write-back ")


def _appointments_book_clash_and_reschedule(cli: Cli) -> None:
    visit = _visit(cli)
    booking = {
        "patient_id": str(visit["patient"]),
        "provider_id": "268001",
        "location_id": str(visit["office"]),
        "exam_room": visit["exam_room"],
        "start_time": START.isoformat(),
        "end_time": (START + timedelta(minutes=30)).isoformat(),
        "reason": "CLI visit",
    }
    booked = cli("appointments", "book", body=booking)
    assert booked.code == 0, booked.err
    appointment = booked.line().split()[2]
    assert booked.line().startswith(f"Booked appointment {appointment} in DrChrono.")
    clash = cli("appointments", "book", body={**booking, "reason": "Clash"})
    assert clash.code == 5
    assert clash.line().startswith(
        "Error: DrChrono refused: the time overlaps another appointment in that exam room; "
        "nothing was booked. Pick another time or room. (write-back "
    )
    later = (START + timedelta(hours=3)).isoformat()
    moved = cli("appointments", "reschedule", appointment, "--start", later, "--duration", "45")
    assert moved.line().startswith(f"Updated appointment {appointment} in DrChrono.")
    naive = cli("appointments", "reschedule", appointment, "--start", "2031-03-03T09:00")
    assert naive.code == 2
    assert "with its UTC offset" in naive.err


def _visit(cli: Cli) -> dict[str, Any]:
    """A seeded visit of doctor 268001, read from the emulator's state (no token needed)."""
    visits = (record for record, _meta in cli.emulator.records.scan("appointments"))
    return next(
        dict(a)
        for a in visits
        if a.get("doctor") == 268001 and a.get("patient") and not a.get("appt_is_break")
    )
