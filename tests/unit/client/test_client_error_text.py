"""DrChrono's validation bodies keep field names and lose values."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chronobridge.domain.error_text import (
    NON_FIELD,
    REDACTED,
    redact_message,
    sent_values,
    validation_fields,
)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ('"Xyz" is not a valid choice.', f"{REDACTED} is not a valid choice."),
        (
            'Invalid pk "86803949" - object does not exist.',
            f"Invalid pk {REDACTED} - object does not exist.",
        ),
        ("\u201cabc\u201d value must be an integer.", f"{REDACTED} value must be an integer."),
        ("'abc' is not a valid UUID.", f"{REDACTED} is not a valid UUID."),
        ("This field is required.", "This field is required."),
        (
            "Ensure this field has no more than 50 characters.",
            f"Ensure this field has no more than {REDACTED} characters.",
        ),
        (
            "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
            "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
        ),
        ("Born 1980-04-02, call 555-867-5309", f"{REDACTED}, call {REDACTED}"),
        ("Token abcDEF is bad; so is tok-9f8e", f"{REDACTED} is bad; so is {REDACTED}"),
        ("see aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa now", f"see {REDACTED} now"),
        ("write to zeb@example.org now", f"write to {REDACTED} now"),
        ("MRN 123456789 exists", f"{REDACTED} exists"),
        (
            "Scheduled time overlaps with an existing appointment",
            "Scheduled time overlaps with an existing appointment",
        ),
        ("The patient's chart is locked", "The patient's chart is locked"),
        ("line\x00break\nhere", "line break here"),
    ],
)
def test_messages_lose_their_values(message: str, expected: str) -> None:
    assert redact_message(message) == expected


def test_values_we_sent_are_redacted_even_unquoted() -> None:
    sent = sent_values({"first_name": "Zebulon", "last_name": "Canaryfield", "doctor": 7})
    text = redact_message("Zebulon Canaryfield already exists. Also see Zebulonx", sent=sent)
    assert text == f"{REDACTED} already exists. {REDACTED} see {REDACTED}"
    lower = sent_values({"first_name": "zebulon"})
    assert (
        redact_message("the name zebulon is taken", sent=lower) == f"the name {REDACTED} is taken"
    )


def test_bodies_flatten_to_dotted_field_names() -> None:
    body = {
        "gender": ['"Q" is not a valid choice.'],
        "primary_insurance": {"insurance_company": ["This field is required."]},
        "detail": "Not allowed.",
    }
    assert validation_fields(body) == {
        "gender": [f"{REDACTED} is not a valid choice."],
        "primary_insurance.insurance_company": ["This field is required."],
        NON_FIELD: ["Not allowed."],
    }


def test_bulk_bodies_are_indexed_and_bare_lists_are_non_field() -> None:
    assert validation_fields([{}, {"gender": ["This field is required."]}]) == {
        "1.gender": ["This field is required."]
    }
    assert validation_fields(["Office already has the maximum number of exam rooms"]) == {
        NON_FIELD: ["Office already has the maximum number of exam rooms"]
    }


def test_field_names_that_are_not_identifiers_are_hidden() -> None:
    fields = validation_fields({"Zebulon Canary <z@x.org>": ["bad"], "ok_name": ["bad"]})
    assert set(fields) == {"<field>", "ok_name"}


@settings(max_examples=60)
@given(
    st.recursive(
        st.none() | st.text(max_size=80) | st.integers(),
        lambda c: st.lists(c, max_size=5) | st.dictionaries(st.text(max_size=20), c, max_size=5),
        max_leaves=20,
    )
)
def test_any_body_is_handled(body: object) -> None:
    fields = validation_fields(body)
    assert all(isinstance(k, str) and isinstance(v, list) for k, v in fields.items())
    assert all(len(m) <= 160 for messages in fields.values() for m in messages)


@given(st.text(min_size=3, max_size=40).filter(lambda s: s.strip() == s and '"' not in s))
def test_a_quoted_value_never_survives(value: str) -> None:
    assert (
        redact_message(f'"{value}" is not a valid choice.') == f"{REDACTED} is not a valid choice."
    )
