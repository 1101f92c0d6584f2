"""What mapping costs: records per second through the default mapping, against a baseline.

    python bench/mapping_speed.py [--records 20000] [--rounds 5]

The sync must map and store at least 5,000 records/s end to end, so mapping one patient should
cost well under 50 µs. The baseline, measured in the same run on the same records, is a plain
dict copy of the same source fields (`{target: record.get(source)}`): the floor for any mapping
at all. Also shown: the blind-index match keys of a patient (matching.match_keys with HMAC).
Prints figures only; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from chronobridge.domain.mappings import MappingContext, apply, default_mapping
from chronobridge.domain.matching import hmac_hasher, identity_from_row, match_keys
from chronobridge.domain.timezones import TimeZones

DOCTORS = {268001: "US/Eastern", 268002: "US/Pacific", 268003: "US/Central"}
FIRST = ("Avery", "Jordan", "Riley", "Casey", "Morgan", "Quinn", "Rowan", "Sasha")
LAST = ("Testwell", "Samplemore", "Placeholder", "Fixture", "Example", "Mockley")
LANGUAGES = ("eng", "spa", "zho", "fra", "blank", "declined")
RACES = ("white", "black", "asian", "indian", "hawaiian", "other", "declined", "blank")


def patients(count: int, rng: random.Random) -> list[dict[str, Any]]:
    return [
        {
            "id": 86800001 + i,
            "first_name": rng.choice(FIRST),
            "middle_name": rng.choice((None, "", "Lee")),
            "last_name": rng.choice(LAST),
            "date_of_birth": f"{rng.randint(1930, 2020)}-{rng.randint(1, 12):02d}-"
            f"{rng.randint(1, 28):02d}",
            "gender": rng.choice(("Male", "Female", "Other", "UNK", "")),
            "address": f"{rng.randint(1, 999)} Example Avenue",
            "city": "Springfield",
            "state": "IL",
            "zip_code": f"627{rng.randint(0, 99):02d}",
            "home_phone": f"(555) 01{rng.randint(0, 9)}-{rng.randint(0, 9999):04d}",
            "cell_phone": rng.choice(("", f"555-010-{rng.randint(0, 9999):04d}")),
            "email": f"patient{i}@example.test",
            "preferred_language": rng.choice(LANGUAGES),
            "race": rng.choice(RACES),
            "ethnicity": rng.choice(("hispanic", "not_hispanic", "declined", "blank")),
            "doctor": rng.choice(tuple(DOCTORS)),
            "patient_status": rng.choice("AID"),
            "updated_at": "2024-03-01T10:15:00",
        }
        for i in range(count)
    ]


def appointments(count: int, rng: random.Random) -> list[dict[str, Any]]:
    return [
        {
            "id": str(143400001 + i),
            "patient": 86800001 + rng.randint(0, count),
            "doctor": rng.choice(tuple(DOCTORS)),
            "office": 301001,
            "exam_room": rng.randint(1, 3),
            "profile": rng.choice((None, 5001)),
            "scheduled_time": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
            f"{rng.randint(8, 17):02d}:{rng.choice((0, 15, 30, 45)):02d}:00",
            "duration": rng.choice((15, 30, 45, 60)),
            "status": rng.choice(("", "Confirmed", "Arrived", "Complete")),
            "reason": "Checkup",
            "notes": "",
            "appt_is_break": False,
            "deleted_flag": False,
        }
        for i in range(count)
    ]


def best_per_record(fn: Callable[[Any], object], records: Sequence[Any], rounds: int) -> float:
    """The best of `rounds` passes, in seconds per record (GC off while timing)."""
    best = float("inf")
    for _ in range(rounds):
        gc.collect()
        gc.disable()
        begin = time.perf_counter()
        for record in records:
            fn(record)
        elapsed = time.perf_counter() - begin
        gc.enable()
        best = min(best, elapsed)
    return best / len(records)


def baseline(resource: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    model = default_mapping().for_resource(resource)
    pairs = [(f.target, f.source) for f in model.spec.fields if f.source]
    return lambda record: {target: record.get(source) for target, source in pairs}  # type: ignore[arg-type]


def report(name: str, mapped: float, floor: float) -> None:
    print(
        f"{name:<14} {1 / mapped:>10,.0f} records/s  {mapped * 1e6:6.2f} µs/record   "
        f"baseline {1 / floor:>10,.0f} records/s  {floor * 1e6:5.2f} µs   x{mapped / floor:.1f}"
    )


def run(*, records: int = 20_000, rounds: int = 5) -> None:
    rng = random.Random(20240301)
    mapping = default_mapping()
    context = MappingContext(timezones=TimeZones.build(DOCTORS, default="US/Eastern"))
    print(f"mapping {mapping.version} ({mapping.digest}), {records:,} records, best of {rounds}")
    for name, resource, data in (
        ("patients", "patients", patients(records, rng)),
        ("appointments", "appointments", appointments(records, rng)),
    ):
        mapped = best_per_record(
            lambda r, res=resource: apply(mapping, res, r, context), data, rounds
        )
        report(name, mapped, best_per_record(baseline(resource), data, rounds))
    rows = [apply(mapping, "patients", p, context).values for p in patients(records, rng)]
    hasher = hmac_hasher(b"bench-blind-index-key-0123456789")
    keyed = best_per_record(lambda v: match_keys(identity_from_row(v), hasher=hasher), rows, rounds)
    print(f"{'match keys':<14} {1 / keyed:>10,.0f} patients/s {keyed * 1e6:6.2f} µs/patient")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    run(records=args.records, rounds=args.rounds)


if __name__ == "__main__":
    main()
