"""One ChangeEvent type: a change seen by a webhook and by a poll is one event (WH-6)."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta

import pytest
from domain_records import TIMEZONES, appointment, patient

from chronobridge.domain.events import (
    ChangeEvent,
    ChangeKind,
    ChangeSource,
    event_from_poll,
    event_from_version,
    event_from_webhook,
)
from chronobridge.domain.records import RecordVersion, content_digest, version_of

NOW = datetime(2024, 3, 1, 16, 0, tzinfo=UTC)


def common() -> dict[str, object]:
    return {"app_id": "app-1", "connection_id": "conn-1", "detected_at": NOW}


def test_webhook_and_poll_of_the_same_change_share_one_dedupe_key() -> None:
    version = version_of("patients", patient(), timezones=TIMEZONES)
    hook = event_from_webhook("PATIENT_MODIFY", version, delivery_id="d-1", **common())
    polled = event_from_poll(None, version, **common())
    assert hook is not None
    assert polled is not None
    assert hook.kind is ChangeKind.UPDATED
    assert polled.kind is ChangeKind.CREATED
    assert hook.source is ChangeSource.WEBHOOK
    assert polled.source is ChangeSource.POLL
    assert hook.dedupe_key == polled.dedupe_key


def test_another_connection_of_the_same_app_is_the_same_change_another_app_is_not() -> None:
    version = version_of("patients", patient(), timezones=TIMEZONES)
    base = event_from_version(
        version, kind=ChangeKind.UPDATED, source=ChangeSource.POLL, **common()
    )
    other_conn = event_from_version(
        version, kind=ChangeKind.UPDATED, source=ChangeSource.POLL, app_id="app-1",
        connection_id="conn-2", detected_at=NOW + timedelta(minutes=3),
    )  # fmt: skip
    other_app = event_from_version(
        version, kind=ChangeKind.UPDATED, source=ChangeSource.POLL, app_id="app-2",
        connection_id="conn-1", detected_at=NOW,
    )  # fmt: skip
    assert base.dedupe_key == other_conn.dedupe_key
    assert base.dedupe_key != other_app.dedupe_key


def test_a_later_update_is_a_new_event() -> None:
    first = version_of("patients", patient(), timezones=TIMEZONES)
    second = version_of("patients", patient(updated_at="2024-03-01T10:15:01"), timezones=TIMEZONES)
    one = event_from_poll(None, first, **common())
    two = event_from_poll(first, second, **common())
    assert one is not None
    assert two is not None
    assert two.kind is ChangeKind.UPDATED
    assert one.dedupe_key != two.dedupe_key


def test_a_poll_of_a_stored_or_older_version_is_no_event() -> None:
    newer = version_of("patients", patient(updated_at="2024-03-02T00:00:00"), timezones=TIMEZONES)
    older = version_of("patients", patient(), timezones=TIMEZONES)
    assert event_from_poll(newer, newer, **common()) is None
    assert event_from_poll(newer, older, **common()) is None


def test_a_delete_is_one_event_whatever_the_source_and_timestamp() -> None:
    version = version_of("appointments", appointment(), timezones=TIMEZONES)
    hook = event_from_webhook("APPOINTMENT_DELETE", version, **common())
    gone = RecordVersion(resource="appointments", record_id="143400001", updated_at=None)
    swept = event_from_version(
        gone, kind=ChangeKind.DELETED, source=ChangeSource.RECONCILE, **common()
    )
    assert hook is not None
    assert hook.updated_at is None
    assert hook.kind is ChangeKind.DELETED
    assert hook.dedupe_key == swept.dedupe_key


def test_lock_events_share_the_change_class_with_a_poll_of_the_same_version() -> None:
    version = RecordVersion(
        resource="clinical_notes", record_id="9001", updated_at=datetime(2024, 3, 1, tzinfo=UTC)
    )
    lock = event_from_webhook("CLINICAL_NOTE_LOCK", version, **common())
    polled = event_from_poll(None, version, **common())
    assert lock is not None
    assert lock.kind is ChangeKind.LOCKED
    assert polled is not None
    assert lock.dedupe_key == polled.dedupe_key


def test_ping_is_no_event_and_unknown_or_mismatched_events_are_refused() -> None:
    version = version_of("patients", patient(), timezones=TIMEZONES)
    assert event_from_webhook("PING", version, **common()) is None
    with pytest.raises(ValueError, match="unknown webhook event"):
        event_from_webhook("PATIENT_EXPLODE", version, **common())
    with pytest.raises(ValueError, match="does not match"):
        event_from_webhook("APPOINTMENT_MODIFY", version, **common())
    # The docs' misspelt flag event and its likely real name are both accepted.
    assert event_from_webhook("PATIENT_FLAG_MODIFY", version, **common()) is not None


def test_events_need_aware_times_and_known_resources() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ChangeEvent(
            app_id="a", connection_id=None, resource="patients", record_id="1",
            kind=ChangeKind.UPDATED, source=ChangeSource.POLL, updated_at=None,
            detected_at=datetime(2024, 1, 1),
        )  # fmt: skip
    with pytest.raises(ValueError, match="unknown resource"):
        ChangeEvent(
            app_id="a", connection_id=None, resource="patientz", record_id="1",
            kind=ChangeKind.UPDATED, source=ChangeSource.POLL, updated_at=None, detected_at=NOW,
        )  # fmt: skip


def test_an_event_carries_ids_and_times_only() -> None:
    record = patient(first_name="Quillon", email="quillon@example.test")
    version = version_of("patients", record, timezones=TIMEZONES, digest=True)
    event = event_from_version(
        version, kind=ChangeKind.UPDATED, source=ChangeSource.POLL, **common()
    )
    names = {f.name for f in fields(ChangeEvent)}
    assert names == {
        "app_id", "connection_id", "resource", "record_id", "kind", "source", "updated_at",
        "detected_at", "delivery_id", "deletion_at", "dedupe_key",
    }  # fmt: skip
    assert "Quillon" not in repr(event)
    assert "quillon" not in repr(version)


def test_versions_read_updated_at_in_the_records_doctors_zone() -> None:
    version = version_of("patients", patient(), timezones=TIMEZONES)
    assert version.record_id == "86800001"
    assert version.updated_at == datetime(2024, 3, 1, 15, 15, tzinfo=UTC)
    assert content_digest({"a": 1, "b": 2}) == content_digest({"b": 2, "a": 1})
