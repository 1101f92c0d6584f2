"""How long the emulator takes to seed a large practice: 10,000 patients, 50,000 appointments.

    python -m bench emulator_seed

Measures `build_state` (identities, patients, appointments in free slots, clinical notes,
schedules and every other listable resource). Baseline, in the same run: storing the same
number of patient, appointment and note records as one-field dicts with `RecordStore.create`
(what the seed cannot go below). Target: a few seconds. Prints figures; asserts nothing.
"""

from __future__ import annotations

import time

from chronobridge.emulator import Clock, EmulatorConfig, build_state
from chronobridge.emulator._records import RecordStore

PATIENTS = 10_000
APPOINTMENTS = 50_000


def run(*, patients: int = PATIENTS, appointments: int = APPOINTMENTS) -> None:
    started = time.perf_counter()
    state = build_state(EmulatorConfig(patients=patients, appointments=appointments))
    seeded = time.perf_counter() - started
    counts = {t: state.records.count(t) for t in ("patients", "appointments", "clinical_notes")}
    started = time.perf_counter()
    store = RecordStore(Clock())
    for table, count in counts.items():
        for _ in range(count):
            store.create(table, {"name": "x"}, practice=1, notify=False)
    floor = time.perf_counter() - started
    total = sum(counts.values())
    print(", ".join(f"{count:,} {table}" for table, count in counts.items()))
    print(f"seed (build_state):             {seeded:5.2f} s   ({total / seeded:,.0f} records/s)")
    print(f"baseline (bare creates):        {floor:5.2f} s   ({total / floor:,.0f} records/s)")


if __name__ == "__main__":
    run()
