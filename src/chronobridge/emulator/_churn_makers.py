"""The single changes churn is made of. Each maker returns what it changed, or None when there
is nothing for it to do (no task to edit yet, no free slot). Synthetic data only."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from chronobridge.emulator._records import Record
from chronobridge.emulator._seed import MAIN_PRACTICE
from chronobridge.emulator._state import EmulatorState

FIRST = ("Alex", "Sam", "Robin", "Morgan", "Taylor", "Jamie", "Quinn", "Drew", "Kai", "Rowan")
LAST = ("Sampleton", "Testford", "Mockridge", "Fakeley", "Demoson", "Placeman", "Dummers")
ALLERGENS = (("Penicillin", "Hives"), ("Peanuts", "Anaphylaxis"), ("Latex", "Rash"))
DRUGS = (("Lisinopril 10 mg", "1 tablet daily"), ("Metformin 500 mg", "twice daily"))
PROBLEMS = (("Essential hypertension", "I10"), ("Type 2 diabetes", "E11.9"), ("Asthma", "J45.909"))
VACCINES = (("Influenza, seasonal", "141"), ("Tdap", "115"), ("Hepatitis B", "08"))
STATUSES = ("Confirmed", "Arrived", "Checked In", "In Room", "Complete", "No Show")


@dataclass(frozen=True, slots=True)
class Done:
    resource: str
    kind: str
    id: int

    def json(self) -> dict[str, Any]:
        return {"resource": self.resource, "kind": self.kind, "id": self.id}


@dataclass(slots=True, kw_only=True)
class Workbench:
    state: EmulatorState
    rng: random.Random

    def ids(self, resource: str, where: Callable[[Record], bool] | None = None) -> list[int]:
        return [
            int(record["id"])
            for record, meta in self.state.records.scan(resource)
            if meta.practice == MAIN_PRACTICE and (where is None or where(record))
        ]

    def pick(self, resource: str, where: Callable[[Record], bool] | None = None) -> int | None:
        found = self.ids(resource, where)
        return self.rng.choice(found) if found else None

    def doctors(self) -> list[int]:
        users = self.state.users.values()
        return sorted(u.doctor for u in users if u.is_doctor and u.practice_group == MAIN_PRACTICE)

    def today(self) -> date:
        return self.state.clock.now().date()

    def create(self, resource: str, fields: Record) -> Done:
        record = self.state.records.create(resource, fields, practice=MAIN_PRACTICE)
        return Done(resource, "created", int(record["id"]))

    def update(self, resource: str, record_id: int, fields: Record) -> Done:
        self.state.records.update(resource, record_id, fields)
        return Done(resource, "updated", record_id)

    def delete(self, resource: str, record_id: int) -> Done:
        self.state.records.delete(resource, record_id)
        return Done(resource, "deleted", record_id)

    def record(self, resource: str, record_id: int) -> Record:
        found = self.state.records.get(resource, record_id)
        return found if found is not None else {}


Maker = Callable[[Workbench], Done | None]


def new_patient(bench: Workbench) -> Done:
    rng = bench.rng
    first, last = rng.choice(FIRST), rng.choice(LAST)
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 80))
    return bench.create(
        "patients",
        {
            "first_name": first,
            "last_name": last,
            "gender": rng.choice(("Male", "Female", "Other")),
            "date_of_birth": born.isoformat(),
            "doctor": rng.choice(bench.doctors()),
            "email": f"{first}.{last}.{rng.randrange(10_000)}@example.test".lower(),
            "cell_phone": f"(217) 555-01{rng.randrange(100):02d}",
            "home_phone": "",
            "address": f"{rng.randrange(1, 999)} Example Street",
            "city": "Springfield",
            "state": "IL",
            "zip_code": "62701",
            "patient_status": "A",
            "preferred_language": "eng",
            "patient_flags_attached": [],
        },
    )


def edit_patient(bench: Workbench) -> Done | None:
    patient = bench.pick("patients")
    if patient is None:
        return None
    fields = bench.rng.choice(
        (
            {"cell_phone": f"(312) 555-01{bench.rng.randrange(100):02d}"},
            {"address": f"{bench.rng.randrange(1, 999)} Sample Road"},
            {"email": f"updated.{bench.rng.randrange(100_000)}@example.test"},
        )
    )
    return bench.update("patients", patient, fields)


def book_appointment(bench: Workbench) -> Done | None:
    patient = bench.pick("patients")
    doctor = bench.rng.choice(bench.doctors())
    office = bench.pick("offices")
    slot = _free_slot(bench, doctor)
    if patient is None or office is None or slot is None:
        return None
    fields = {
        "patient": patient,
        "doctor": doctor,
        "office": office,
        "exam_room": 1,
        "scheduled_time": slot,
        "duration": 30,
        "status": "",
        "reason": bench.rng.choice(("Follow-up", "Annual physical", "Consultation")),
        "notes": "",
        "appt_is_break": False,
        "deleted_flag": False,
    }
    return bench.create("appointments", fields)


def reschedule_appointment(bench: Workbench) -> Done | None:
    appointment = bench.pick("appointments", _open)
    if appointment is None:
        return None
    slot = _free_slot(bench, bench.record("appointments", appointment).get("doctor"))
    return (
        None
        if slot is None
        else bench.update("appointments", appointment, {"scheduled_time": slot})
    )


def cancel_appointment(bench: Workbench) -> Done | None:
    appointment = bench.pick("appointments", _open)
    if appointment is None:
        return None
    return bench.update("appointments", appointment, {"status": "Cancelled"})


def check_in_appointment(bench: Workbench) -> Done | None:
    appointment = bench.pick("appointments", _open)
    if appointment is None:
        return None
    return bench.update("appointments", appointment, {"status": bench.rng.choice(STATUSES)})


def new_task(bench: Workbench) -> Done:
    due = bench.today() + timedelta(days=bench.rng.randrange(1, 10))
    fields: Record = {
        "title": bench.rng.choice(("Call back about results", "Request records", "Refill check")),
        "status": bench.pick("task_statuses"),
        "priority": bench.rng.choice(("10", "20", "30", "40")),
        "assignee_user": None,
        "category": bench.pick("task_categories"),
        "due_date": due.isoformat(),
        "archived": False,
        "associated_items": [],
        "notes": [],
    }
    return bench.create("tasks", fields)


def edit_task(bench: Workbench) -> Done | None:
    task = bench.pick("tasks")
    if task is None:
        return None
    return bench.update("tasks", task, {"priority": bench.rng.choice(("10", "20", "30", "40"))})


def new_task_note(bench: Workbench) -> Done | None:
    task = bench.pick("tasks")
    if task is None:
        return None
    return bench.create(
        "task_notes", {"task": task, "text": "Left a voicemail.", "archived": False}
    )


def new_allergy(bench: Workbench) -> Done | None:
    name, reaction = bench.rng.choice(ALLERGENS)
    return _clinical(bench, "allergies", {"description": name, "reaction": reaction})


def edit_allergy(bench: Workbench) -> Done | None:
    return _edit(bench, "allergies", {"status": bench.rng.choice(("active", "inactive"))})


def new_medication(bench: Workbench) -> Done | None:
    name, signature = bench.rng.choice(DRUGS)
    fields = {"name": name, "signature_note": signature, "date_prescribed": str(bench.today())}
    return _clinical(bench, "medications", fields)


def edit_medication(bench: Workbench) -> Done | None:
    return _edit(bench, "medications", {"status": bench.rng.choice(("active", "inactive"))})


def new_problem(bench: Workbench) -> Done | None:
    name, code = bench.rng.choice(PROBLEMS)
    fields = {"name": name, "icd_code": code, "icd_version": "10", "date_diagnosis": ""}
    return _clinical(bench, "problems", fields)


def edit_problem(bench: Workbench) -> Done | None:
    return _edit(bench, "problems", {"status": bench.rng.choice(("active", "resolved"))})


def flag_patient(bench: Workbench) -> Done | None:
    patient = bench.pick("patients")
    if patient is None:
        return None
    flags = list(bench.record("patients", patient).get("patient_flags_attached") or [])
    if flags and bench.rng.random() < 0.5:
        flags[-1] = {**flags[-1], "flag_text": "Updated by the front desk"}
    else:
        flag_id = bench.rng.randrange(1, 10**6)
        flags.append(
            {"id": flag_id, "flag_type": bench.pick("patient_flag_types"), "flag_text": ""}
        )
    return bench.update("patients", patient, {"patient_flags_attached": flags})


def vaccinate(bench: Workbench) -> Done | None:
    name, cvx = bench.rng.choice(VACCINES)
    fields: Record = {"name": name, "cvx_code": cvx, "completion_status": "CP", "amount": 0.5}
    return _clinical(bench, "patient_vaccine_records", fields, doctor_field="ordering_doctor")


def toggle_note_lock(bench: Workbench) -> Done | None:
    note = bench.pick("clinical_notes")
    if note is None:
        appointment = bench.pick("appointments")
        if appointment is None:
            return None
        found = bench.record("appointments", appointment)
        fields = {"appointment": appointment, "patient": found.get("patient"), "locked": False}
        return bench.create("clinical_notes", {**fields, "archived": False})
    locked = bool(bench.record("clinical_notes", note).get("locked"))
    return bench.update("clinical_notes", note, {"locked": not locked})


def delete_task(bench: Workbench) -> Done | None:
    """A finished task removed from the list (TASK_DELETE)."""
    return _delete(bench, "tasks")


def delete_payment(bench: Workbench) -> Done | None:
    """A cash payment entered by mistake and removed (CASH_PAYMENT_DELETE)."""
    return _delete(bench, "patient_payments")


def delete_transaction(bench: Workbench) -> Done | None:
    """A line item's posted transaction removed (LINE_ITEM_TRANSACTION_DELETE)."""
    return _delete(bench, "transactions")


def _delete(bench: Workbench, resource: str) -> Done | None:
    record_id = bench.pick(resource)
    return None if record_id is None else bench.delete(resource, record_id)


def _clinical(
    bench: Workbench, resource: str, fields: Record, *, doctor_field: str = "doctor"
) -> Done | None:
    patient = bench.pick("patients")
    if patient is None:
        return None
    doctor = bench.record("patients", patient).get("doctor") or bench.doctors()[0]
    return bench.create(resource, {**fields, "patient": patient, doctor_field: doctor})


def _edit(bench: Workbench, resource: str, fields: Record) -> Done | None:
    record_id = bench.pick(resource)
    return None if record_id is None else bench.update(resource, record_id, fields)


def _open(record: Record) -> bool:
    return record.get("status") not in ("Cancelled", "Complete", "No Show")


def _free_slot(bench: Workbench, doctor: Any) -> str | None:
    taken = {
        record.get("scheduled_time")
        for record, _ in bench.state.records.scan("appointments")
        if record.get("doctor") == doctor and _open(record)
    }
    for _ in range(20):
        day = bench.today() + timedelta(days=bench.rng.randrange(1, 15))
        minutes = 8 * 60 + 30 * bench.rng.randrange(18)
        start = datetime(day.year, day.month, day.day) + timedelta(minutes=minutes)  # noqa: DTZ001 - DrChrono's local wall time
        slot = start.isoformat(timespec="seconds")
        if slot not in taken:
            return slot
    return None
