"""Synthetic records for every resource that can be listed, deterministic by `config.seed`.

`_seed` makes the practices, users, doctors and offices first; this module adds
`config.patients` patients (each with one of the main practice's doctors), a few patients of the
other practice (`OUTSIDER_PATIENTS`, to show practice scoping), `config.appointment_count`
appointments across past and future, a clinical note per past visit (older ones mostly locked),
work schedules, staff, and `PER_RESOURCE` records of every other listable resource. Created and
updated times spread over the two years before the clock's now.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from chronobridge.catalog import CATALOG, Kind
from chronobridge.emulator._records import RecordStore
from chronobridge.emulator._seed import MAIN_PRACTICE, OTHER_PRACTICE
from chronobridge.emulator._seed_visits import (
    Place,
    seed_appointments,
    seed_notes,
    seed_patients,
)
from chronobridge.emulator._seedgen import Maker
from chronobridge.emulator._serialize import UTC_ZONE
from chronobridge.emulator._state import EmulatorState
from chronobridge.emulator._tables import ALIASES

PER_RESOURCE = 5
OUTSIDER_PATIENTS = 3
# Seeded first, because other records point at them (`_references`).
FIRST = (
    "sublabs", "appointment_profiles", "task_categories", "task_statuses", "user_groups",
    "clinical_note_templates", "clinical_note_field_types", "consent_forms", "lab_orders",
    "lab_documents", "lab_tests", "lab_results", "line_items", "tasks", "prescription_messages",
)  # fmt: skip
SPECIAL = frozenset(
    {"patients", "appointments", "clinical_notes", "doctors", "offices", "users", "staff"}
)


def seed_records(state: EmulatorState) -> None:
    """Patients, appointments and data for every pollable resource, by `state.config.seed`."""
    config, store, now = state.config, state.records, state.clock.now()
    rng = random.Random(config.seed)
    main = _place(store, MAIN_PRACTICE)
    today = now.astimezone(main.zones.get(main.doctors[0], UTC_ZONE) if main.doctors else UTC_ZONE)
    refs: dict[str, list[int]] = {
        "doctors": main.doctors,
        "offices": sorted({office for office, _room in main.rooms}),
        "users": sorted(u.id for u in state.users.values() if u.practice_group == MAIN_PRACTICE),
    }
    maker = Maker(rng, today=today.date(), refs=refs, practice=MAIN_PRACTICE)
    refs["patients"] = seed_patients(store, maker, main, config.patients, now=now)
    _seed_outsiders(store, maker, now=now)
    appointments, past = seed_appointments(
        store, maker, main, patients=refs["patients"], count=config.appointment_count, now=now
    )
    refs["appointments"] = past or appointments
    refs["clinical_notes"] = seed_notes(store, maker, main, past, now=now)
    _seed_schedules(store, main)
    _seed_staff(state)
    for resource in listable():
        refs[resource] = _seed_generic(store, maker, resource, now=now)


def listable() -> list[str]:
    """Tables that back a list operation and are seeded from their schema, in seeding order."""
    names = {
        ALIASES.get(op.resource, op.resource)
        for op in CATALOG.operations
        if op.kind is Kind.LIST and op.schema
    } - SPECIAL
    return [n for n in FIRST if n in names] + sorted(names - set(FIRST))


def _place(store: RecordStore, practice: int) -> Place:
    doctors = [r for r, m in store.scan("doctors") if m.practice == practice]
    rooms = [
        (int(office["id"]), int(room["index"]))
        for office, meta in store.scan("offices")
        if meta.practice == practice
        for room in office.get("exam_rooms") or []
    ]
    return Place(
        practice=practice,
        doctors=[int(d["id"]) for d in doctors],
        zones={int(d["id"]): ZoneInfo(str(d.get("timezone") or "UTC")) for d in doctors},
        rooms=rooms,
    )


def _seed_outsiders(store: RecordStore, maker: Maker, *, now: datetime) -> None:
    outsiders = _place(store, OTHER_PRACTICE)
    if outsiders.doctors:
        seed_patients(store, maker, outsiders, OUTSIDER_PATIENTS, now=now)


def _seed_schedules(store: RecordStore, place: Place) -> None:
    """One work schedule per doctor and per office, keyed by the doctor's or office's id."""
    practice = place.practice
    for doctor in place.doctors:
        store.create(
            "doctor_work_schedule", _schedule(doctor, None), practice=practice, notify=False
        )
    for office in sorted({o for o, _r in place.rooms}):
        store.create(
            "office_work_schedule", _schedule(None, office), practice=practice, notify=False
        )


def _schedule(doctor: int | None, office: int | None) -> dict[str, object]:
    owner = doctor if doctor is not None else office
    assert owner is not None
    days = [
        {
            "id": owner * 10 + weekday,
            "iso_weekday": str(weekday),
            "enabled": weekday <= 5,
            "work_hours": [
                {
                    "id": owner * 100 + weekday,
                    "enabled": True,
                    "start_time": "08:00:00",
                    "end_time": "17:00:00",
                }
            ],
        }
        for weekday in range(1, 8)
    ]
    return {"id": owner, "doctor": doctor, "office": office, "work_days": days}


def _seed_staff(state: EmulatorState) -> None:
    for user in sorted(state.users.values(), key=lambda u: u.id):
        if user.is_staff:
            state.records.create(
                "staff",
                {
                    "id": user.id,
                    "user_id": str(user.id),
                    "username": user.username,
                    "first_name": user.username.capitalize(),
                    "last_name": "Staffer",
                    "email": f"{user.username}@example.test",
                    "doctor": str(user.doctor),
                    "active": "true",
                    "cell_phone": "(217) 555-0150",
                    "home_phone": "",
                },
                practice=user.practice_group,
                notify=False,
            )


def _seed_generic(store: RecordStore, maker: Maker, resource: str, *, now: datetime) -> list[int]:
    schema = CATALOG.resource(resource).schema
    if schema is None:
        return []
    table = store.table(resource)
    ids = []
    for _ in range(PER_RESOURCE):
        fields = maker.record(schema)
        age = timedelta(days=maker.rng.randint(30, 730))
        created = now - age
        record = store.create(resource, fields, practice=maker.practice, at=created, notify=False)
        table.meta[record["id"]].updated = created + age * maker.rng.random()
        ids.append(int(record["id"]))
    return ids
