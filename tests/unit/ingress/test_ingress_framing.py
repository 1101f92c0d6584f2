"""What a delivery must look like: header formats, the JSON body, the object's id; any bytes
at all end in a `Rejection` (a 4xx), never another exception."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chronobridge.ingress import Rejection, check_content_type
from chronobridge.ingress._framing import check_delivery_id, check_event_name, parse_body


@pytest.mark.parametrize(
    "value", ["application/json", "application/json; charset=utf-8", "Application/JSON"]
)
def test_json_content_types(value: str) -> None:
    check_content_type(value)


@pytest.mark.parametrize("value", [None, "", "text/plain", "application/x-www-form-urlencoded"])
def test_other_content_types_are_415(value: str | None) -> None:
    with pytest.raises(Rejection) as refused:
        check_content_type(value)
    assert refused.value.status == 415


@pytest.mark.parametrize("name", ["PATIENT_CREATE", "PING", "SOMETHING_NEW_2"])
def test_event_names(name: str) -> None:
    assert check_event_name(name) == name


@pytest.mark.parametrize("name", [None, "", "patient_create", "A" * 65, "X-Y", "1A"])
def test_malformed_event_names_are_400(name: str | None) -> None:
    with pytest.raises(Rejection) as refused:
        check_event_name(name)
    assert refused.value.status == 400


def test_delivery_ids() -> None:
    assert check_delivery_id("3f2a-11", event="PATIENT_CREATE") == "3f2a-11"
    assert check_delivery_id(None, event="PING") is None
    for bad in (None, "", "a:b", "x y", "x" * 129):
        with pytest.raises(Rejection):
            check_delivery_id(bad, event="PATIENT_CREATE")


def test_a_known_event_needs_its_object_id() -> None:
    parsed = parse_body(b'{"receiver": {}, "object": {"id": "2026_9"}}', event="APPOINTMENT_MODIFY")
    assert (parsed.object_id, parsed.event and parsed.event.resource) == ("2026_9", "appointments")
    for body in (b'{"object": {}}', b'{"object": {"id": true}}', b'{"object": {"id": "a b"}}'):
        with pytest.raises(Rejection):
            parse_body(body, event="PATIENT_MODIFY")


def test_an_unknown_event_is_parsed_without_an_id() -> None:
    parsed = parse_body(b'{"object": {"whatever": 1}}', event="NEW_THING")
    assert (parsed.event, parsed.object_id) == (None, None)


def test_an_alias_resolves_to_its_event() -> None:
    parsed = parse_body(b'{"object": {"id": 3}}', event="PATIENT_FLAG_MODIFY")
    assert parsed.event is not None
    assert parsed.event.name == "PATIENT_FLAG_CMODIFY"


def _status(body: bytes, event: str) -> int | None:
    """None when parsed, the status when refused; any other exception fails the test."""
    try:
        parse_body(body, event=event)
    except Rejection as refused:
        return refused.status
    return None


@given(st.binary(max_size=512))
def test_any_bytes_are_parsed_or_refused(body: bytes) -> None:
    assert _status(body, "PATIENT_MODIFY") in (None, 400)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3)))  # fmt: skip
def test_any_json_is_parsed_or_refused(document: object) -> None:
    assert _status(json.dumps({"object": document}).encode(), "TASK_MODIFY") in (None, 400)


def test_deeply_nested_json_is_refused_not_crashed() -> None:
    with pytest.raises(Rejection):
        parse_body(b"[" * 100_000, event="TASK_MODIFY")
