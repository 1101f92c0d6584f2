"""The seed: deterministic, synthetic, consistent with the emulator's own rules."""

from __future__ import annotations

import itertools
import json
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from chronobridge.emulator import Clock, EmulatorConfig, EmulatorState, build_state
from chronobridge.emulator._appointments import span
from chronobridge.emulator._seed import MAIN_PRACTICE
from chronobridge.emulator._seed_records import OUTSIDER_PATIENTS, listable

NOW = datetime(2026, 3, 26, 13, 58, 21, tzinfo=UTC)


def seeded(seed: int = 1, **overrides: int) -> EmulatorState:
    settings = {"patients": 60, "appointments": 400, "seed": seed, **overrides}
    return build_state(EmulatorConfig(**settings), clock=Clock(frozen_at=NOW))


def test_the_same_seed_gives_the_same_records() -> None:
    first, second, other = seeded(), seeded(), seeded(seed=2)

    def dump(state: EmulatorState) -> str:
        return json.dumps(state.records.snapshot(), sort_keys=True)

    assert dump(first) == dump(second)
    assert dump(first) != dump(other)


def test_counts_and_owners() -> None:
    state = seeded()
    patients = [(r, m) for r, m in state.records.scan("patients")]
    main = [r for r, m in patients if m.practice == MAIN_PRACTICE]
    assert len(main) == 60
    assert len(patients) == 60 + OUTSIDER_PATIENTS
    assert {r["doctor"] for r in main} <= {268001, 268002, 268003}
    assert state.records.count("appointments") == 400
    for table in listable():
        assert state.records.count(table) > 0, table


def test_appointments_never_overlap_and_span_past_and_future() -> None:
    state = seeded(appointments=2000)
    booked: dict[tuple[int, int], list[tuple[datetime, datetime]]] = defaultdict(list)
    statuses = set()
    for record, _meta in state.records.scan("appointments"):
        statuses.add(record["status"])
        window = span(record)
        assert window is not None
        booked[(record["office"], record["exam_room"])].append(window)
    for windows in booked.values():
        windows.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(windows))
    times = sorted(w[0] for ws in booked.values() for w in ws)
    assert times[0].date() < NOW.date() < times[-1].date()
    assert "Cancelled" in statuses


def test_notes_for_past_visits_some_locked() -> None:
    state = seeded()
    notes = [n for n, _m in state.records.scan("clinical_notes")]
    assert notes
    assert {n["locked"] for n in notes} == {True, False}
    for note in notes[:20]:
        visit = state.records.get("appointments", int(note["appointment"]))
        assert visit is not None
        assert visit["scheduled_time"] < NOW.isoformat()


def test_data_is_obviously_synthetic_and_recent() -> None:
    state = seeded()
    for record, meta in state.records.scan("patients"):
        assert record["email"].endswith("@example.test")
        assert re.fullmatch(r"\(\d{3}\) 555-01\d\d", record["cell_phone"])
        assert NOW - timedelta(days=731) <= meta.created <= meta.updated <= NOW
