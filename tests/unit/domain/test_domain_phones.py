"""Phones: the fast North-American path agrees with phonenumbers; 555-01xx numbers are fine."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat

from chronobridge.domain.phones import e164_digits, to_drchrono, to_e164


def reference(text: str) -> str | None:
    """What phonenumbers alone says: a possible number (local-only included), in E.164."""
    try:
        number = phonenumbers.parse(text, "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(555) 010-0100", "+15550100100"),  # the emulator's synthetic shape
        ("555-010-0100", "+15550100100"),
        ("555.010.0100", "+15550100100"),
        ("1 555 010 0100", "+15550100100"),
        ("+1 (555) 010-0100", "+15550100100"),
        ("+44 20 7946 0958", "+442079460958"),
        ("555-010-0100 x12", "+15550100100"),
        ("555-0199", "+15550199"),  # local only, the emulator's shape: no area code
        ("010-01", None),  # too short
        ("call me", None),
        ("", None),
        ("   ", None),
    ],
)
def test_examples(raw: str, expected: str | None) -> None:
    assert to_e164(raw) == expected


separator = st.sampled_from(["", " ", "-", ".", "(", ")", "  "])


@st.composite
def formatted_numbers(draw: st.DrawFn) -> str:
    digits = draw(st.text(alphabet="0123456789", min_size=6, max_size=12))
    prefix = draw(st.sampled_from(["", "+", "1", "+1", "1 ", "+1 "]))
    out = prefix
    for digit in digits:
        out += draw(separator) + digit
    return out


@given(formatted_numbers())
def test_the_fast_path_agrees_with_phonenumbers(raw: str) -> None:
    assert to_e164(raw) == reference(raw)


@given(st.text(max_size=20))
def test_any_text_gives_a_number_or_none_never_an_error(raw: str) -> None:
    result = to_e164(raw)
    assert result is None or (result.startswith("+") and result[1:].isdigit())


def test_digits_drop_the_plus() -> None:
    assert e164_digits("(555) 010-0100") == "15550100100"
    assert e164_digits("nope") is None


def test_written_back_the_way_drchrono_writes_them() -> None:
    assert to_drchrono("+15550100100") == "(555) 010-0100"
    assert to_drchrono("+442079460958") == "+44 20 7946 0958"
    assert to_drchrono("+15550199") == "555-0199"
    assert to_e164("555-0199") == "+15550199"
    assert to_e164(to_drchrono("+15550100100")) == "+15550100100"
