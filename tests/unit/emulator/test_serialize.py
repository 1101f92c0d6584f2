"""The fast JSON text of records is the standard library's, byte for byte (numbers in exponent
form aside, which are the same numbers), and what is rendered at seed time is what a list
shows after a change."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from chronobridge.emulator import EmulatorConfig, build_state
from chronobridge.emulator._serialize import dumps, local_text, renderer

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def standard(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, list):
        return any(has_float(v) for v in value)
    if isinstance(value, dict):
        return any(has_float(v) for v in value.values())
    return False


@given(values)
def test_record_text_is_the_standard_librarys(value: Any) -> None:
    text = dumps(value)
    assert json.loads(text) == json.loads(standard(value))
    if not has_float(value):
        assert text == standard(value)


@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1),
        max_value=datetime(8999, 12, 31),
        timezones=st.just(UTC),
    ),
    st.sampled_from(["US/Eastern", "Australia/Adelaide", "Asia/Kathmandu", "UTC"]),
)
def test_local_text_is_the_local_wall_time_to_the_second(moment: datetime, zone: str) -> None:
    local = moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    assert local_text(moment, ZoneInfo(zone)) == local.isoformat(timespec="seconds")


def test_prerendered_text_follows_a_change() -> None:
    state = build_state(EmulatorConfig(patients=3, appointments=0))
    source = state.records.table("patients")
    patient = source.order[0]
    render = renderer(state)
    before = render.text(
        "patients", "Patient", source.rows[patient], source.meta[patient], verbose=False
    )
    assert json.loads(before)["first_name"] == source.rows[patient]["first_name"]
    state.clock.advance(timedelta(seconds=1))
    state.records.update("patients", patient, {"first_name": "Renamed"})
    after = render.text(
        "patients", "Patient", source.rows[patient], source.meta[patient], verbose=False
    )
    assert json.loads(after)["first_name"] == "Renamed"
    assert json.loads(after)["updated_at"] > json.loads(before)["updated_at"]


def test_prerender_can_be_turned_off() -> None:
    state = build_state(EmulatorConfig(patients=3, appointments=0, extra={"prerender": "0"}))
    assert renderer(state)._texts == {}
    state = build_state(EmulatorConfig(patients=3, appointments=0))
    assert ("patients", state.records.table("patients").order[0]) in renderer(state)._texts
