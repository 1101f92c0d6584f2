"""Blind identities: one create-lock key per person however the name is typed; fingerprints
that do not depend on order; the rules worth naming for an exact match."""

from __future__ import annotations

from chronobridge.domain.matching import MatchKey, hmac_hasher, identity
from chronobridge.writeback._identity import (
    duplicate_fingerprint,
    exact_rules,
    identity_key,
    inbound_fingerprint,
    keys_of_values,
)

HASHER = hmac_hasher(b"k" * 32)


def test_one_lock_key_per_person_however_typed() -> None:
    a = identity(first_name="Núñez", last_name="O'Brien", date_of_birth="1984-07-19")
    b = identity(first_name=" NUNEZ ", last_name="obrien", date_of_birth="1984-07-19")
    c = identity(first_name="Nunez", last_name="OBrien", date_of_birth="1984-07-20")
    assert identity_key(a, HASHER) == identity_key(b, HASHER)
    assert identity_key(a, HASHER) != identity_key(c, HASHER)
    assert identity_key(a, HASHER) != identity_key(a, hmac_hasher(b"x" * 32))  # keyed
    assert len(identity_key(a, HASHER)) == 64


def test_the_lock_key_holds_no_patient_data() -> None:
    person = identity(first_name="Quorra", last_name="Vantablack", date_of_birth="1984-07-19")
    key = identity_key(person, HASHER)
    for text in ("quorra", "vantablack", "1984"):
        assert text not in key


def test_fingerprints_ignore_order_and_repeats() -> None:
    assert duplicate_fingerprint(1, ["7", "3"]) == duplicate_fingerprint(1, ["3", "7", "7"])
    assert duplicate_fingerprint(1, ["7", "3"]) != duplicate_fingerprint(2, ["7", "3"])
    keys = [MatchKey("name_dob", b"\x01" * 32), MatchKey("dob_email", b"\x02" * 32)]
    assert inbound_fingerprint(1, keys, ["9"]) == inbound_fingerprint(1, keys[::-1], ["9"])
    assert inbound_fingerprint(1, keys, ["9"]) != inbound_fingerprint(1, keys, ["8"])


def test_exact_rules_keep_the_exact_ones_in_rule_order() -> None:
    matched = ("name_year_month", "name_dob", "first_dob_email", "dob_email")
    assert exact_rules(matched) == ("name_dob", "first_dob_email")


def test_keys_of_values_read_the_practice_model() -> None:
    values = {"first_name": "Ann", "last_name": "Lee", "date_of_birth": "1990-01-02"}
    person, keys = keys_of_values({**values, "phone_mobile": "+12175550142"}, HASHER)
    assert (person.first, person.last, person.phones) == ("ann", "lee", frozenset({"12175550142"}))
    assert "name_dob" in {k.rule for k in keys}
    assert "first_dob_phone" in {k.rule for k in keys}
