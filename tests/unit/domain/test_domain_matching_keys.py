"""The blind-index keys stay what stores already hold: their derivation is fixed.

Every store keeps the keys of its patients; a release that derived them differently would
silently stop finding those patients. Each key is HMAC-SHA256 (the standard library's, as
the reference) of the rule's name and its normalized parts joined by U+001F; and the ASCII
shortcut of name normalization gives what the general Unicode path gives.
"""

from __future__ import annotations

import hmac
import unicodedata
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from chronobridge.domain.matching import (
    GENDER,
    hmac_hasher,
    identity,
    match_keys,
    normalize_name,
)

SECRET = b"blind-index-test-key-32-bytes!!!"


def reference(rule: str, *parts: str) -> bytes:
    return hmac.digest(SECRET, "\x1f".join((rule, *parts)).encode(), "sha256")


def test_every_key_is_the_hmac_of_its_rule_and_parts() -> None:
    who = identity(
        first_name="Morgan", last_name="O'Fixture", date_of_birth=date(1984, 7, 9), gender="F",
        phone_numbers=["(555) 010-0111", "555-010-0112"], email="Morgan@Example.test",
    )  # fmt: skip
    first, last, dob, email = "morgan", "ofixture", "1984-07-09", "morgan@example.test"
    phones = ("15550100111", "15550100112")
    expected = {
        ("name_dob", reference("name_dob", first, last, dob)),
        *(("first_dob_phone", reference("first_dob_phone", first, dob, p)) for p in phones),
        ("first_dob_email", reference("first_dob_email", first, dob, email)),
        *(("dob_phone", reference("dob_phone", dob, p)) for p in phones),
        ("dob_email", reference("dob_email", dob, email)),
        ("last_dob_initial", reference("last_dob_initial", last, dob, "m")),
        ("name_dob_swapped", reference("name_dob_swapped", first, last, "1984/07/09")),
        ("name_year_month", reference("name_year_month", first, last, "1984-07")),
        ("name_year_day", reference("name_year_day", first, last, "1984-*-09")),
        ("name_month_day", reference("name_month_day", first, last, "*-07-09")),
        (GENDER, reference(GENDER, "F")),
    }  # fmt: skip
    keys = match_keys(who, hasher=hmac_hasher(SECRET))
    assert {(k.rule, k.key) for k in keys} == expected
    assert len(keys) == len(expected)
    assert list(keys) == sorted(keys)


@given(secret=st.binary(min_size=16, max_size=200), message=st.binary(max_size=300))
def test_the_hasher_is_hmac_sha256(secret: bytes, message: bytes) -> None:
    hasher = hmac_hasher(secret)
    assert hasher(message) == hmac.digest(secret, message, "sha256")
    assert hasher(message) == hasher(message)  # the keyed state is copied, never consumed


def general_path(text: str) -> str:
    """Name normalization without the ASCII shortcut (the Unicode fixpoint loop)."""
    current = text
    for _ in range(4):
        folded = unicodedata.normalize("NFKD", current.upper().casefold())
        cleaned = "".join(ch for ch in folded if ch.isalnum())
        if cleaned == current:
            break
        current = cleaned
    return current


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_the_ascii_shortcut_normalizes_like_the_general_path(text: str) -> None:
    assert normalize_name(text) == general_path(text)
