"""Patient matching: normalization properties, one table row per rule, twins, blind keys."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

import pytest
from domain_records import CONTEXT, patient
from hypothesis import given
from hypothesis import strategies as st

from chronobridge.domain.mappings import apply, default_mapping
from chronobridge.domain.matching import (
    RULES,
    Candidate,
    MatchKind,
    PatientIdentity,
    decide,
    hmac_hasher,
    identity,
    identity_from_row,
    lookup_keys,
    match_keys,
    normalize_email,
    normalize_name,
)

HASH = hmac_hasher(b"blind-index-test-key-32-bytes!!!")


def keys(who: PatientIdentity) -> tuple[Any, ...]:
    return match_keys(who, hasher=HASH)


def person(**overrides: Any) -> PatientIdentity:
    fields: dict[str, Any] = {
        "first_name": "Morgan", "last_name": "Fixture", "date_of_birth": "1984-07-09",
        "gender": "F", "phone_numbers": ["(555) 010-0111"], "email": "morgan@example.test",
    }  # fmt: skip
    fields.update(overrides)
    return identity(**fields)


def match(new: PatientIdentity, *stored: tuple[str, PatientIdentity]) -> Any:
    candidates = [Candidate(pid, frozenset(keys(who))) for pid, who in stored]
    return decide(keys(new), candidates)


@given(st.text())
def test_name_normalization_is_idempotent(text: str) -> None:
    once = normalize_name(text)
    assert normalize_name(once) == once


@given(st.text(alphabet=st.characters(categories=["Lu", "Ll"]), min_size=1, max_size=12))
def test_name_normalization_ignores_case_accents_and_spacing(name: str) -> None:
    accented = unicodedata.normalize("NFD", name.upper())
    decorated = f"  {accented[:1]} -'{accented[1:]}. "
    assert normalize_name(decorated) == normalize_name(name.lower())


@given(st.emails())
def test_email_normalization_is_idempotent_and_case_blind(email: str) -> None:
    assert normalize_email(normalize_email(email)) == normalize_email(email)
    assert normalize_email(f"  {email.upper()} ") == normalize_email(email.lower())


def test_normalized_examples() -> None:
    assert normalize_name(" O'Brien-Núñez ") == normalize_name("obrien nunez") == "obriennunez"
    assert normalize_name("Zoë") == "zoe"
    assert normalize_name(None) == ""
    who = person(phone_numbers=["+1 (555) 010-0111", "not a phone", ""], gender="Female")
    assert who.phones == frozenset({"15550100111"})
    assert who.gender == "F"
    assert who.birth == date(1984, 7, 9)
    assert identity(first_name="a", last_name="b", date_of_birth="bad").birth is None


SAME = person()
CASES = [
    ("exact name and birth date", person(first_name="MORGAN", phone_numbers=[], email=None),
     MatchKind.EXACT, "name_dob"),
    ("last name changed, same phone", person(last_name="Newname", email=None), MatchKind.EXACT,
     "first_dob_phone"),
    ("last name changed, same email", person(last_name="Newname", phone_numbers=[]),
     MatchKind.EXACT, "first_dob_email"),
    ("nickname with the same phone", person(first_name="Mo", last_name="Other", email=None),
     MatchKind.POSSIBLE, "dob_phone"),
    ("nickname with the same email", person(first_name="Mo", last_name="Other", phone_numbers=[]),
     MatchKind.POSSIBLE, "dob_email"),
    ("initial only", person(first_name="M.", phone_numbers=[], email=None), MatchKind.POSSIBLE,
     "last_dob_initial"),
    ("day and month swapped", person(date_of_birth="1984-09-07", phone_numbers=[], email=None),
     MatchKind.POSSIBLE, "name_dob_swapped"),
    ("day mistyped", person(date_of_birth="1984-07-19", phone_numbers=[], email=None),
     MatchKind.POSSIBLE, "name_year_month"),
    ("month mistyped", person(date_of_birth="1984-08-09", phone_numbers=[], email=None),
     MatchKind.POSSIBLE, "name_year_day"),
    ("year mistyped", person(date_of_birth="1948-07-09", phone_numbers=[], email=None),
     MatchKind.POSSIBLE, "name_month_day"),
    ("someone else", person(first_name="Casey", last_name="Other", date_of_birth="1990-01-01",
     phone_numbers=["555-010-0999"], email="casey@example.test"), MatchKind.NONE, None),
]  # fmt: skip


@pytest.mark.parametrize(("case", "new", "kind", "rule"), CASES, ids=[c[0] for c in CASES])
def test_each_rule(case: str, new: PatientIdentity, kind: MatchKind, rule: str | None) -> None:
    decision = match(new, ("p1", SAME))
    assert decision.kind is kind, case
    if rule is not None:
        assert rule in decision.rules
        assert decision.patient_ids == ("p1",)


def test_every_rule_has_a_table_row() -> None:
    assert {r.name for r in RULES} == {c[3] for c in CASES if c[3]}


def test_twins_are_never_an_exact_match() -> None:
    """Same birth date, last name, phone and email; different first names."""
    twin = person(first_name="Marlowe")
    decision = match(twin, ("p1", SAME))
    assert decision.kind is MatchKind.POSSIBLE
    assert set(decision.rules) == {"dob_phone", "dob_email", "last_dob_initial"}


def test_a_gender_conflict_downgrades_an_exact_match() -> None:
    assert match(person(gender="M"), ("p1", SAME)).kind is MatchKind.POSSIBLE
    assert match(person(gender="U"), ("p1", SAME)).kind is MatchKind.EXACT  # unknown: no conflict


def test_two_exact_candidates_are_ambiguous() -> None:
    decision = match(SAME, ("p1", SAME), ("p2", person(email="other@example.test")))
    assert decision.kind is MatchKind.POSSIBLE
    assert decision.patient_ids == ("p1", "p2")


def test_one_exact_among_possibles_wins() -> None:
    decision = match(SAME, ("p1", SAME), ("p2", person(first_name="Marlowe")))
    assert decision.kind is MatchKind.EXACT
    assert decision.patient_ids == ("p1",)


def test_no_candidates_no_match() -> None:
    assert match(SAME).kind is MatchKind.NONE


def test_keys_are_blind_and_keyed() -> None:
    mine = keys(SAME)
    blob = b"".join(k.key for k in mine)
    for plain in (b"morgan", b"fixture", b"1984", b"15550100111", b"example"):
        assert plain not in blob
    other = match_keys(SAME, hasher=hmac_hasher(b"another-blind-index-key-32-bytes"))
    assert {k.key for k in mine}.isdisjoint({k.key for k in other})
    # The gender key is kept to detect conflicts but never used to look patients up.
    assert len(lookup_keys(mine)) == len(mine) - 1
    with pytest.raises(ValueError, match="16 bytes"):
        hmac_hasher(b"short")


def test_missing_parts_produce_no_keys_and_each_phone_its_own() -> None:
    bare = identity(first_name="", last_name="Fixture", date_of_birth=None)
    assert keys(bare) == ()
    two = person(phone_numbers=["555-010-0111", "555-010-0112"], email=None)
    assert sum(1 for k in keys(two) if k.rule == "dob_phone") == 2


def test_identity_from_a_mapped_row() -> None:
    row = apply(default_mapping(), "patients", patient(), CONTEXT)
    who = identity_from_row(row.values)
    assert who == identity(
        first_name="Morgan", last_name="Fixture", date_of_birth="1984-07-09", gender="F",
        phone_numbers=["555-010-0111", "555-010-0112"], email="morgan.fixture@example.test",
    )  # fmt: skip
