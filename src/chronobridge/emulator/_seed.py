"""The seeded practice's people and places: practices, users, doctors, offices, the default app.

Everything is synthetic. Ids look like DrChrono's (large integers) and are fixed, so that tests
and docs can name `doctor1` or office 301001; the records of every other resource are made by
`_seed_records` from `config.seed`.
"""

from __future__ import annotations

from dataclasses import dataclass

from chronobridge.emulator._state import (
    MANAGE_APP_DIRECTORY,
    PERMISSIONS,
    App,
    EmulatorState,
    Practice,
    User,
)

MAIN_PRACTICE = 5471
OTHER_PRACTICE = 9902

# Per-resource first id, so ids from different resources never look alike in logs and tests.
ID_BASES: dict[str, int] = {
    "doctors": 268001,
    "offices": 301001,
    "patients": 86800001,
    "appointments": 143400001,
    "users": 1001,
}


def id_base(resource: str) -> int:
    return ID_BASES.get(resource, 10_000 + 1_000 * (sum(map(ord, resource)) % 900))


@dataclass(frozen=True, slots=True)
class DoctorSeed:
    username: str
    first_name: str
    last_name: str
    specialty: str
    timezone: str
    practice: int = MAIN_PRACTICE


@dataclass(frozen=True, slots=True)
class StaffSeed:
    username: str
    provider: str
    permissions: frozenset[str]


DOCTORS: tuple[DoctorSeed, ...] = (
    DoctorSeed("doctor1", "Avery", "Testwell", "Family Medicine", "US/Eastern"),
    DoctorSeed("doctor2", "Jordan", "Samplemore", "Pediatrics", "US/Pacific"),
    DoctorSeed("doctor3", "Riley", "Placeholder", "Internal Medicine", "US/Central"),
    DoctorSeed("outsider1", "Casey", "Elsewhere", "Dermatology", "US/Mountain", OTHER_PRACTICE),
)

ALL = frozenset(PERMISSIONS)
STAFF: tuple[StaffSeed, ...] = (
    StaffSeed("staff1", "doctor1", ALL),
    # A front-desk user without billing rights: calls to billing endpoints answer 403.
    StaffSeed(
        "staff2", "doctor1", ALL - {"billing", "show-billing-tab", "access-patient-payments"}
    ),
    StaffSeed("staff3", "doctor2", ALL),
    StaffSeed("manager1", "doctor1", ALL | {MANAGE_APP_DIRECTORY}),
)

OFFICES: tuple[tuple[str, str, str, int], ...] = (
    ("Maple Grove Clinic", "Springfield", "IL", 3),
    ("Riverside Annex", "Shelbyville", "IL", 2),
)


def seed(state: EmulatorState) -> None:
    """Fill `state` with the synthetic practice, deterministic by `state.config.seed`."""
    from chronobridge.emulator import _seed_records

    _seed_practices(state)
    doctor_ids = _seed_doctors(state)
    _seed_staff(state, doctor_ids)
    _seed_offices(state, doctor_ids)
    _seed_default_app(state)
    _seed_records.seed_records(state)


def _seed_practices(state: EmulatorState) -> None:
    sharing = {"share_patients": True, "share_appointment_profiles": True}
    state.practices[MAIN_PRACTICE] = Practice(
        id=MAIN_PRACTICE, name="Maple Grove Family Practice", settings=sharing
    )
    state.practices[OTHER_PRACTICE] = Practice(
        id=OTHER_PRACTICE, name="Elsewhere Dermatology", settings=sharing
    )


def _seed_doctors(state: EmulatorState) -> dict[str, int]:
    ids: dict[str, int] = {}
    for index, seed in enumerate(DOCTORS):
        doctor_id = ID_BASES["doctors"] + index
        ids[seed.username] = doctor_id
        state.records.create(
            "doctors",
            _doctor_fields(seed, doctor_id),
            practice=seed.practice,
            notify=False,
        )
        user_id = ID_BASES["users"] + index
        permissions = ALL | {MANAGE_APP_DIRECTORY}  # a provider manages their own apps
        state.users[user_id] = User(
            id=user_id,
            username=seed.username,
            practice_group=seed.practice,
            is_doctor=True,
            doctor=doctor_id,
            permissions=permissions,
        )
    return ids


def _doctor_fields(seed: DoctorSeed, doctor_id: int) -> dict[str, object]:
    slug = seed.username
    return {
        "id": doctor_id,
        "first_name": seed.first_name,
        "last_name": seed.last_name,
        "specialty": seed.specialty,
        "timezone": seed.timezone,
        "email": f"{slug}@example.test",
        "job_title": "Provider/Staff (Private Practice)",
        "suffix": "MD",
        "npi_number": f"9{doctor_id:09d}"[-10:],
        "practice_group": seed.practice,
        "office_phone": "(555) 010-0100",
        "cell_phone": "",
        "home_phone": "",
        "country": "US",
        "group_npi_number": "",
        "is_account_suspended": False,
        "profile_picture": "",
        "website": "",
    }


def _seed_staff(state: EmulatorState, doctor_ids: dict[str, int]) -> None:
    first = ID_BASES["users"] + len(DOCTORS)
    for index, seed in enumerate(STAFF):
        user_id = first + index
        state.users[user_id] = User(
            id=user_id,
            username=seed.username,
            practice_group=MAIN_PRACTICE,
            is_doctor=False,
            doctor=doctor_ids[seed.provider],
            permissions=seed.permissions,
        )


def _seed_offices(state: EmulatorState, doctor_ids: dict[str, int]) -> None:
    for index, (name, city, us_state, rooms) in enumerate(OFFICES):
        office_id = ID_BASES["offices"] + index
        state.records.create(
            "offices",
            {
                "id": office_id,
                "name": name,
                "address": f"{100 + index * 50} Example Avenue",
                "city": city,
                "state": us_state,
                "zip_code": f"6270{index}",
                "country": "US",
                "phone_number": "(555) 010-0200",
                "fax_number": "",
                "doctor": doctor_ids["doctor1"],
                "archived": False,
                "start_time": "08:00:00",
                "end_time": "17:00:00",
                "exam_rooms": [
                    {"index": i + 1, "name": f"Exam {i + 1}", "online_scheduling": True}
                    for i in range(rooms)
                ],
                "online_scheduling": True,
            },
            practice=MAIN_PRACTICE,
            notify=False,
        )


def _seed_default_app(state: EmulatorState) -> None:
    config = state.config
    state.apps[config.client_id] = App(
        client_id=config.client_id,
        client_secret=config.client_secret,
        name="chronobridge demo",
        redirect_uris=config.redirect_uris,
        practice_group=MAIN_PRACTICE,
        private=config.private,
        rate_limit=config.rate_limit,
        patient_iframe_url="http://127.0.0.1:8600/iframe/patient",
        clinical_note_iframe_url="http://127.0.0.1:8600/iframe/clinical-note",
    )
