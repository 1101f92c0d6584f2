"""Synthetic DrChrono records shaped like the emulator's (and DrChrono's) JSON. No real people."""

from __future__ import annotations

from typing import Any

from chronobridge.domain.mappings import MappingContext
from chronobridge.domain.timezones import TimeZones

EAST, WEST = 268001, 268002

DOCTORS: list[dict[str, Any]] = [
    {"id": EAST, "first_name": "Avery", "last_name": "Testwell", "timezone": "US/Eastern",
     "specialty": "Family Medicine", "npi_number": "9000268001", "suffix": "MD",
     "email": "Doctor1@Example.TEST", "practice_group": 5471},
    {"id": WEST, "first_name": "Jordan", "last_name": "Samplemore", "timezone": "US/Pacific",
     "specialty": "Pediatrics", "npi_number": "9000268002", "suffix": "", "email": "",
     "practice_group": 5471},
]  # fmt: skip

TIMEZONES = TimeZones.from_doctors(DOCTORS)
CONTEXT = MappingContext(timezones=TIMEZONES)


def patient(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": 86800001,
        "chart_id": "TEST000001",
        "first_name": "Morgan",
        "middle_name": None,
        "last_name": "Fixture",
        "nick_name": "",
        "date_of_birth": "1984-07-09",
        "gender": "Female",
        "address": "12 Example Avenue",
        "city": "Springfield",
        "state": "IL",
        "zip_code": "62701",
        "home_phone": "(555) 010-0111",
        "cell_phone": "555-010-0112",
        "office_phone": "",
        "email": "morgan.fixture@example.test",
        "preferred_language": "eng",
        "race": "white",
        "ethnicity": "not_hispanic",
        "doctor": EAST,
        "patient_status": "A",
        "custom_demographics": [
            {"field_type": 11, "value": "blue"},
            {"field_type": 12, "value": "newspaper"},
        ],
        "created_at": "2024-01-05T09:00:00",
        "updated_at": "2024-03-01T10:15:00",
    }
    record.update(overrides)
    return record


def appointment(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": "143400001",
        "patient": 86800001,
        "doctor": EAST,
        "office": 301001,
        "exam_room": 2,
        "profile": 5001,
        "scheduled_time": "2024-06-03T09:30:00",
        "duration": 45,
        "status": "Confirmed",
        "reason": "Annual physical",
        "notes": "",
        "appt_is_break": False,
        "deleted_flag": False,
        "created_at": "2024-05-01T08:00:00",
        "updated_at": "2024-05-02T08:00:00",
    }
    record.update(overrides)
    return record


def office(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": 301001,
        "name": "Maple Grove Clinic",
        "address": "100 Example Avenue",
        "city": "Springfield",
        "state": "IL",
        "zip_code": "62700",
        "phone_number": "(555) 010-0200",
        "doctor": EAST,
        "archived": False,
        "exam_rooms": [{"index": 1, "name": "Exam 1"}, {"index": 2, "name": "Exam 2"}],
    }
    record.update(overrides)
    return record
