"""The seeded practice's patients, their appointments and the clinical notes of past visits.

Built fast (10,000 patients and 50,000 appointments in a few seconds): one template record per
schema, a few fields changed per record, `notify=False`. Appointments take distinct 30-minute
slots per office and exam room, so the seed itself respects the overlap rule (409).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chronobridge.catalog import CATALOG
from chronobridge.emulator._records import RecordStore
from chronobridge.emulator._seedgen import FIRST_NAMES, LAST_NAMES, WORDS, Maker

SLOTS_PER_DAY = 18  # 08:00 to 17:00, every 30 minutes
FILL = 0.75  # share of the calendar's slots that are booked
PAST_STATUSES = (("Complete", 75), ("No Show", 6), ("Cancelled", 8), ("Arrived", 3), ("", 8))
FUTURE_STATUSES = (("", 40), ("Confirmed", 30), ("Not Confirmed", 20), ("Cancelled", 10))
NOTE_LOCK_AGE = timedelta(days=7)
APPOINTMENT_FIELDS = frozenset(
    {"color", "notes", "icd10_codes", "is_walk_in"} | set(CATALOG.verbose_fields("Appointment"))
)
VERBOSE_PATIENT = ("primary_insurance", "secondary_insurance", "referring_doctor")
PATIENT_FIELDS = frozenset(
    {"ethnicity", "race", "preferred_language", "patient_payment_profile", "offices", "pronouns"}
    | {"emergency_contact_name", "emergency_contact_phone", "emergency_contact_relation"}
    | {"date_of_first_appointment", "date_of_last_appointment", "disable_sms_messages"}
    | set(CATALOG.verbose_fields("Patient"))
)  # the rest stay empty, as most of a real chart's optional fields are


@dataclass(frozen=True, slots=True, kw_only=True)
class Visits:
    """What the rest of the seed needs to know about the visits."""

    patients: list[int]
    appointments: list[int]
    past_appointments: list[int]


@dataclass(frozen=True, slots=True, kw_only=True)
class Place:
    practice: int
    doctors: list[int]
    zones: dict[int, ZoneInfo]
    rooms: list[tuple[int, int]]  # (office id, exam room index)


def _weighted(maker: Maker, table: tuple[tuple[str, int], ...]) -> str:
    return maker.rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def _spread(maker: Maker, now: datetime, *, oldest: datetime) -> tuple[datetime, datetime]:
    """A created time after `oldest` and an updated time between it and now."""
    window = max(1.0, (now - oldest).total_seconds())
    created = oldest + timedelta(seconds=maker.rng.random() * window)
    updated = created + timedelta(seconds=maker.rng.random() * (now - created).total_seconds())
    return created, updated


def seed_patients(
    store: RecordStore, maker: Maker, place: Place, count: int, *, now: datetime
) -> list[int]:
    template = maker.sparse("Patient", PATIENT_FIELDS)
    oldest = now - timedelta(days=730)
    table = store.table("patients")
    ids = []
    for index in range(count):
        first, last = maker.rng.choice(FIRST_NAMES), maker.rng.choice(LAST_NAMES)
        fields = {**template, **{k: dict(template[k] or {}) for k in VERBOSE_PATIENT}}
        fields.update(_patient_fields(maker, index, first, last, place))
        created, updated = _spread(maker, now, oldest=oldest)
        record = store.create("patients", fields, practice=place.practice, at=created, notify=False)
        table.meta[record["id"]].updated = updated
        ids.append(record["id"])
    return ids


def _patient_fields(
    maker: Maker, index: int, first: str, last: str, place: Place
) -> dict[str, Any]:
    rng = maker.rng
    born = date(1940, 1, 1) + timedelta(days=rng.randint(0, 80 * 365))
    return {
        "first_name": first,
        "last_name": last,
        "middle_name": "",
        "nick_name": "",
        "date_of_birth": born.isoformat(),
        "gender": rng.choice(("Male", "Female", "Other", "UNK")),
        "doctor": rng.choice(place.doctors),
        "chart_id": f"{last[:4].upper()}{index + 1:06d}",
        "email": f"{first.lower()}.{last.lower()}{index}@example.test",
        "cell_phone": maker.phone(),
        "home_phone": maker.phone(),
        "address": f"{rng.randint(1, 999)} {rng.choice(WORDS).capitalize()} Street",
        "city": "Springfield",
        "state": "IL",
        "zip_code": f"627{rng.randint(0, 99):02d}",
        "patient_status": "A",
        "date_of_death": None,
    }


def seed_appointments(
    store: RecordStore,
    maker: Maker,
    place: Place,
    *,
    patients: list[int],
    count: int,
    now: datetime,
) -> tuple[list[int], list[int]]:
    """`count` appointments in distinct slots, about two thirds in the past; (all, past) ids."""
    capacity = len(place.rooms) * SLOTS_PER_DAY
    if count <= 0 or capacity == 0 or not patients:
        return [], []
    days = max(60, math.ceil(count / (capacity * FILL)))
    first_day = maker.today - timedelta(days=(2 * days) // 3)
    calendar = _Calendar(store, maker, place, patients, now)
    picks = sorted(maker.rng.sample(range(days * capacity), min(count, days * capacity)))
    ids, past = [], []
    for pick in picks:
        day, rest = divmod(pick, capacity)
        room, slot = divmod(rest, SLOTS_PER_DAY)
        local = datetime.combine(first_day + timedelta(days=day), datetime.min.time())
        local += timedelta(hours=8, minutes=30 * slot)
        ids.append(calendar.book(room, local))
        if local.date() < maker.today:
            past.append(ids[-1])
    return ids, past


class _Calendar:
    def __init__(
        self, store: RecordStore, maker: Maker, place: Place, patients: list[int], now: datetime
    ) -> None:
        self.store, self.maker, self.place, self.now = store, maker, place, now
        self.patients = patients
        rows = store.table("patients").rows
        self.doctor_of = {p: rows[p]["doctor"] for p in patients}
        self.template = maker.sparse("Appointment", APPOINTMENT_FIELDS)
        self.table = store.table("appointments")

    def book(self, room: int, local: datetime) -> int:
        rng = self.maker.rng
        patient = rng.choice(self.patients) if rng.random() > 0.03 else None
        doctor = self.doctor_of[patient] if patient is not None else rng.choice(self.place.doctors)
        office, exam_room = self.place.rooms[room]
        in_past = local.date() < self.maker.today
        fields = {
            **self.template,
            "patient": patient,
            "doctor": doctor,
            "office": office,
            "exam_room": exam_room,
            "scheduled_time": local.isoformat(timespec="seconds"),
            "duration": 30,
            "appt_is_break": patient is None,
            "status": _weighted(self.maker, PAST_STATUSES if in_past else FUTURE_STATUSES),
            "reason": "Break" if patient is None else rng.choice(WORDS).capitalize() + " visit",
            "deleted_flag": False,
            "allow_overlapping": None,
            "clinical_note": None,
        }
        created, updated = self._times(_utc(local, self.place.zones.get(doctor)))
        record = self.store.create(
            "appointments", fields, practice=self.place.practice, at=created, notify=False
        )
        self.table.meta[record["id"]].updated = updated
        return int(record["id"])

    def _times(self, starts: datetime) -> tuple[datetime, datetime]:
        """Booked up to 60 days ahead (never over two years ago); touched until the visit."""
        latest = min(self.now, starts)
        oldest = max(self.now - timedelta(days=730), latest - timedelta(days=60))
        created, _ = _spread(self.maker, latest, oldest=oldest)
        return created, _spread(self.maker, self.now, oldest=created)[0]


def _utc(local: datetime, zone: ZoneInfo | None) -> datetime:
    return local.replace(tzinfo=zone or UTC).astimezone(UTC)


def seed_notes(
    store: RecordStore, maker: Maker, place: Place, past: list[int], *, now: datetime
) -> list[int]:
    """A clinical note per past visit; older notes are mostly locked."""
    template = maker.record("ClinicalNote")
    rows = store.table("appointments").rows
    ids = []
    for appointment_id in past:
        visit = rows[appointment_id]
        if visit["patient"] is None or visit["status"] in ("Cancelled", "No Show"):
            continue
        starts = _utc(
            datetime.fromisoformat(visit["scheduled_time"]), place.zones.get(visit["doctor"])
        )
        note = {
            **template,
            "appointment": str(appointment_id),
            "patient": str(visit["patient"]),
            "archived": False,
            "clinical_note_sections": [],
            "doctor": visit["doctor"],
            "office": visit["office"],
            "locked": now - starts > NOTE_LOCK_AGE and maker.rng.random() < 0.8,
        }
        created = min(now, starts + timedelta(hours=1))
        record = store.create(
            "clinical_notes", note, practice=place.practice, at=created, notify=False
        )
        ids.append(int(record["id"]))
    return ids
