"""Preparing fetched records: ids, UTC times in each doctor's zone, digests, duplicates."""

from __future__ import annotations

from datetime import UTC, datetime

from chronobridge.domain.timezones import TimeZones
from chronobridge.store import StoredVersion
from chronobridge.sync._prepare import canonical_json, decide, digest_of, prepare

TZ = TimeZones.from_doctors(
    [{"id": 1, "timezone": "US/Eastern"}, {"id": 2, "timezone": "US/Pacific"}]
)


def test_times_are_read_in_the_records_doctors_zone() -> None:
    items, invalid = prepare(
        [
            {"id": 1, "doctor": 1, "updated_at": "2026-03-01T09:00:00"},
            {"id": 2, "doctor": 2, "updated_at": "2026-03-01T09:00:00"},
            {"id": 3, "updated_at": "2026-03-01T09:00:00"},  # no doctor: the practice's zone
        ],
        timezones=TZ,
    )
    assert invalid == 0
    assert [i.write.updated_at for i in items] == [
        datetime(2026, 3, 1, 14, tzinfo=UTC),
        datetime(2026, 3, 1, 17, tzinfo=UTC),
        datetime(2026, 3, 1, 14, tzinfo=UTC),
    ]


def test_the_newest_duplicate_wins_and_records_without_id_are_counted() -> None:
    items, invalid = prepare(
        [
            {"id": 5, "updated_at": "2026-03-01T09:00:00", "v": 1},
            {"id": 5, "updated_at": "2026-03-01T10:00:00", "v": 2},
            {"id": 5, "updated_at": "2026-03-01T08:00:00", "v": 0},
            {"name": "no id"},
            {"id": 6, "updated_at": "yesterday"},
        ],
        timezones=TZ,
    )
    assert [i.record["v"] for i in items] == [2]
    assert invalid == 2


def test_the_digest_ignores_key_order() -> None:
    a = canonical_json({"b": 1, "a": [1, 2]})
    assert a == canonical_json({"a": [1, 2], "b": 1}) == '{"a":[1,2],"b":1}'
    assert len(digest_of(a)) == 64


def test_decide_writes_new_and_newer_skips_equal_and_older() -> None:
    items, _ = prepare(
        [{"id": n, "updated_at": "2026-03-01T09:00:00"} for n in (1, 2, 3, 4)], timezones=TZ
    )
    at = items[0].write.updated_at
    stored = {
        "2": StoredVersion(id=20, updated_at=at, digest=items[1].write.digest, deleted_at=None),
        "3": StoredVersion(
            id=30, updated_at=datetime(2027, 1, 1, tzinfo=UTC), digest="x", deleted_at=None
        ),
        "4": StoredVersion(
            id=40, updated_at=datetime(2020, 1, 1, tzinfo=UTC), digest="y", deleted_at=None
        ),
    }
    changed, unchanged, stale = decide(items, stored)
    assert [i.external_id for i in changed] == ["1", "4"]
    assert unchanged == [20]
    assert stale == 1
