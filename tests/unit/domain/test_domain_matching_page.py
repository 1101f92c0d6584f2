"""Matching a page with blocking: the same decisions as comparing every pair, far fewer
comparisons; and searching the index with fewer keys finds the same candidates.

`match_page` compares each row only with the candidates that share one of its rule keys. The
reference here is the all-pairs loop the ingest hook ran before: `decide(row, every other
candidate)`. Identities are drawn from small pools so that pages are full of partial matches,
twins, gender conflicts and ambiguous groups.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chronobridge.domain.matching import (
    Candidate,
    MatchDecision,
    MatchKey,
    MatchKind,
    PatientIdentity,
    decide,
    hmac_hasher,
    identity,
    match_keys,
)
from chronobridge.domain.matching_page import match_page, search_keys

HASH = hmac_hasher(b"blind-index-test-key-32-bytes!!!")
BIRTHS = ("1984-07-09", "1984-09-07", "1984-07-19", "1984-08-09", "1948-07-09", "1990-01-01")

people = st.builds(
    lambda first, last, birth, gender, phones, email: identity(
        first_name=first, last_name=last, date_of_birth=birth, gender=gender,
        phone_numbers=phones, email=email,
    ),
    first=st.sampled_from(["Morgan", "Marlowe", "M.", "Mo", "", "Casey"]),
    last=st.sampled_from(["Fixture", "Newname", "O'Brien", ""]),
    birth=st.sampled_from([*BIRTHS, None]),
    gender=st.sampled_from(["F", "M", "U", None]),
    phones=st.lists(st.sampled_from(["555-010-0111", "555-010-0112", "555-010-0999"]), max_size=2),
    email=st.sampled_from(["morgan@example.test", "casey@example.test", None]),
)  # fmt: skip


def keyed(who: PatientIdentity) -> tuple[MatchKey, ...]:
    return match_keys(who, hasher=HASH)


def all_pairs(
    rows: dict[int, tuple[MatchKey, ...]], candidates: list[tuple[int, Candidate]]
) -> dict[int, MatchDecision]:
    """The ingest hook's loop before blocking: every row against every other candidate."""
    decisions = {}
    for row, keys in rows.items():
        decision = decide(keys, [c for other, c in candidates if other != row])
        if decision.kind is not MatchKind.NONE:
            decisions[row] = decision
    return decisions


def page_and_store(
    page: list[PatientIdentity], stored: list[PatientIdentity]
) -> tuple[dict[int, tuple[MatchKey, ...]], list[tuple[int, Candidate]]]:
    """Rows 1..n are the page (also candidates of each other, as in the index); the stored
    patients follow. Patient ids are the row ids as text."""
    rows = {number: keyed(who) for number, who in enumerate(page, start=1)}
    everyone = {**rows, **{len(page) + n: keyed(w) for n, w in enumerate(stored, start=1)}}
    candidates = [(row, Candidate(str(row), frozenset(keys))) for row, keys in everyone.items()]
    return rows, candidates


@settings(max_examples=150)
@given(page=st.lists(people, min_size=1, max_size=25), stored=st.lists(people, max_size=10))
def test_blocking_decides_exactly_like_all_pairs(
    page: list[PatientIdentity], stored: list[PatientIdentity]
) -> None:
    rows, candidates = page_and_store(page, stored)
    assert match_page(rows, candidates).decisions == all_pairs(rows, candidates)


@settings(max_examples=150)
@given(page=st.lists(people, min_size=1, max_size=25), stored=st.lists(people, max_size=10))
def test_stored_candidates_need_only_the_keys_the_page_has_and_their_gender(
    page: list[PatientIdentity], stored: list[PatientIdentity]
) -> None:
    """The ingest hook loads of each stored candidate only its keys among the page's keys,
    and its gender key (memory that stays flat as the store grows): the same decisions."""
    rows, candidates = page_and_store(page, stored)
    page_keys = {k for keys in rows.values() for k in keys}
    trimmed = [(row, c if row in rows else trim(c, page_keys)) for row, c in candidates]
    assert match_page(rows, trimmed).decisions == match_page(rows, candidates).decisions


def test_a_trimmed_candidate_keeps_its_gender() -> None:
    """Her keys among the page's do not include her gender when nobody on the page shares it,
    and without it the exact match would not be downgraded."""
    page = [identity(first_name="Morgan", last_name="Fixture", date_of_birth="1984-07-09",
                     gender="F")]  # fmt: skip
    stored = [identity(first_name="Morgan", last_name="Fixture", date_of_birth="1984-07-09",
                       gender="M")]  # fmt: skip
    rows, candidates = page_and_store(page, stored)
    page_keys = {k for keys in rows.values() for k in keys}
    trimmed = [(row, c if row in rows else trim(c, page_keys)) for row, c in candidates]
    decision = match_page(rows, trimmed).decisions[1]
    assert decision == match_page(rows, candidates).decisions[1]
    assert decision.kind is MatchKind.POSSIBLE


def trim(candidate: Candidate, kept: set[MatchKey]) -> Candidate:
    keys = frozenset(k for k in candidate.keys if k in kept or not k.lookup)
    return Candidate(candidate.patient_id, keys)


@settings(max_examples=500)
@given(new=people, stored=people)
def test_searching_fewer_keys_finds_the_same_candidates(
    new: PatientIdentity, stored: PatientIdentity
) -> None:
    """A stored patient shares a lookup key with a new one exactly when it shares one of the
    new one's search keys: the index finds the same candidates with a third fewer probes."""
    mine, theirs = keyed(new), frozenset(keyed(stored))
    every = {k for k in mine if k.lookup} & theirs
    fewer = set(search_keys(mine)) & theirs
    assert bool(every) == bool(fewer)
    assert len(search_keys(mine)) <= len([k for k in mine if k.lookup])


def test_random_pages_with_duplicates_decide_like_all_pairs() -> None:
    """Bigger pages than hypothesis draws: 200 patients and 40 near-copies of them, with a
    stored copy of the first 20 (the all-pairs reference is what makes this slow)."""
    generator = random.Random(20240611)
    for _ in range(3):
        page = [distinct_person(generator, n) for n in range(200)]
        page += [near_copy(generator, generator.choice(page)) for _ in range(40)]
        generator.shuffle(page)
        rows, candidates = page_and_store(page, page[:20])
        found = match_page(rows, candidates)
        assert found.decisions == all_pairs(rows, candidates)
        assert found.decisions, "the near-copies must match someone"


def test_a_page_of_distinct_patients_costs_no_comparison() -> None:
    """1,000 different people, each also a candidate (the hook indexes the page before it
    looks up): all-pairs would make 999,000 comparisons; blocking makes none."""
    generator = random.Random(7)
    page = [distinct_person(generator, n) for n in range(1_000)]
    rows, candidates = page_and_store(page, [])
    found = match_page(rows, candidates)
    assert found.decisions == {}
    assert found.comparisons == 0


def test_comparisons_grow_with_the_duplicates_not_the_page() -> None:
    """Each of 50 copies is compared with its original and the original with it: at most one
    comparison per (row, candidate sharing a key) pair, whatever the page's size."""
    generator = random.Random(11)
    page = [distinct_person(generator, n) for n in range(1_000)]
    page += [near_copy(generator, page[n]) for n in range(0, 1_000, 20)]
    rows, candidates = page_and_store(page, [])
    found = match_page(rows, candidates)
    assert 50 <= len(found.decisions) <= 100
    assert found.comparisons <= 2 * 50


def distinct_person(generator: random.Random, number: int) -> PatientIdentity:
    """A synthetic person no other number produces: unique names, phone and email."""
    syllables = ("ka", "lo", "mi", "ren", "ta", "vo", "zu", "bel", "dor", "fi")
    first = "".join(syllables[int(d)] for d in f"{number:04d}")
    last = "".join(syllables[int(d)] for d in f"{number * 7 % 10_000:04d}") + "son"
    birth = date(1930, 1, 1) + timedelta(days=generator.randrange(32_000))
    return identity(
        first_name=first.title(),
        last_name=last.title(),
        date_of_birth=birth,
        gender=generator.choice(["F", "M", "O", None]),
        phone_numbers=[f"555-{2000 + number // 100:04d}-{number % 100:02d}00"],
        email=f"{first}.{number}@example.test",
    )


def near_copy(generator: random.Random, who: PatientIdentity) -> PatientIdentity:
    """The same person as another system or a tired clerk would enter them."""
    changes: dict[str, Any] = generator.choice(
        [
            {"last": "Newname"},
            {"first": who.first[:1]},
            {"birth": _swapped(who.birth)},
            {"phones": frozenset(), "email": ""},
            {"gender": "M" if who.gender == "F" else "F"},
        ]
    )
    fields: dict[str, Any] = {
        "first": who.first, "last": who.last, "birth": who.birth, "gender": who.gender,
        "phones": who.phones, "email": who.email, **changes,
    }  # fmt: skip
    return PatientIdentity(**fields)


def _swapped(birth: date | None) -> date | None:
    if birth is None or birth.day > 12:
        return birth
    return birth.replace(month=birth.day, day=birth.month)
