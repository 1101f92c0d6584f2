"""The one change event that webhooks, polls, reconciliation and write-backs all produce.

An event carries ids and timestamps only, never the record: consumers fetch the stored version.
Its `dedupe_key` hashes (app, resource, record id, kind class, `updated_at`), so one change seen
by a webhook *and* by a poll is one event (WH-6; style-models §5.2). Kind classes:

- `change`: created, updated, locked, unlocked. A poll cannot tell a lock from another update
  (a clinical note has no lock flag in the API) nor always a create from an update, so all four
  share a class; the first source to report a change names its kind. Webhooks come first in
  practice, so kinds are usually the precise ones.
- `delete`: deleted. `updated_at` is not part of a delete's key: the webhook and the
  reconciliation pass that notices the id missing agree.

Deletions and restores. A stored record can be deleted and come back: a wrong or forged DELETE
later contradicted by DrChrono, a deletion undone there, a record seen again by a poll. Each
change of the stored row between live and deleted is its own change, and exactly one
transaction makes it (the row's conditional update: only one writer finds it live, or
deleted). Its key carries `deletion_at`, the instant the stored row was marked deleted:

- a deletion of a stored record: (…, `delete`, `deletion_at` = the instant it marks). A second
  source reporting the same deletion finds the row already deleted and adds no event, and a
  later deletion, after a restore, has another instant, hence its own event;
- a restore: (…, `change`, `updated_at`, `deletion_at` = the instant of the deletion it undoes).
  The same version as before the deletion is therefore a new event (its plain key was used by
  the version's first event), while two sources restoring it at once read the same deletion and
  agree on one key;
- without `deletion_at` the key is the plain one above: ordinary changes, and deletions of ids
  the store never held (repeated, they stay one event).

So a record created, deleted by a forged delivery, restored by the next poll and deleted for
real in DrChrono has four events: created, deleted, updated (the restore), deleted.

The connection is not in the key: two doctors' connections that both see a shared patient's
change produce one event. The app is, so two apps (tenants) never swallow each other's events.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from chronobridge.catalog import CATALOG, PING
from chronobridge.domain.cursors import is_new_version
from chronobridge.domain.records import RecordVersion

__all__ = [
    "ChangeEvent",
    "ChangeKind",
    "ChangeSource",
    "dedupe_key",
    "event_from_poll",
    "event_from_version",
    "event_from_webhook",
    "kind_class",
]


class ChangeKind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    LOCKED = "locked"
    UNLOCKED = "unlocked"


class ChangeSource(StrEnum):
    WEBHOOK = "webhook"
    POLL = "poll"
    RECONCILE = "reconcile"
    WRITEBACK = "writeback"


def kind_class(kind: ChangeKind) -> str:
    """`delete` for deletions, `change` for everything else (see the module docstring)."""
    return "delete" if kind is ChangeKind.DELETED else "change"


def dedupe_key(
    *,
    app_id: str,
    resource: str,
    record_id: str,
    kind: ChangeKind,
    updated_at: datetime | None,
    deletion_at: datetime | None = None,
) -> str:
    """The stable identity of one change: equal for the same change from any source.
    `deletion_at` marks a deletion of a stored record or a restore (see the module doc)."""
    klass = kind_class(kind)
    stamp = "" if klass == "delete" or updated_at is None else _utc_text(updated_at)
    parts = [app_id, resource, record_id, klass, stamp]
    if deletion_at is not None:
        parts.append(_utc_text(deletion_at))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeEvent:
    """Something changed in DrChrono: which record, how, when, and who told us."""

    app_id: str
    connection_id: str | None
    resource: str
    record_id: str
    kind: ChangeKind
    source: ChangeSource
    updated_at: datetime | None
    """DrChrono's `updated_at` as aware UTC; None for deletions and unversioned resources."""
    detected_at: datetime
    delivery_id: str | None = None
    """The webhook's `X-drchrono-delivery`, for the logs; never part of the dedupe key."""
    deletion_at: datetime | None = None
    """The stored deletion this event makes (a DELETED event of a stored record) or undoes (a
    restore); None otherwise. Part of the key, so each deletion and restore is its own event."""
    dedupe_key: str = field(init=False)

    def __post_init__(self) -> None:
        for name in ("updated_at", "detected_at", "deletion_at"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise ValueError(f"{name} must be timezone-aware")
        if self.resource not in CATALOG.resources:
            raise ValueError(f"unknown resource {self.resource!r}")
        key = dedupe_key(
            app_id=self.app_id,
            resource=self.resource,
            record_id=self.record_id,
            kind=self.kind,
            updated_at=self.updated_at,
            deletion_at=self.deletion_at,
        )
        object.__setattr__(self, "dedupe_key", key)


def event_from_version(
    version: RecordVersion,
    *,
    kind: ChangeKind,
    source: ChangeSource,
    app_id: str,
    connection_id: str | None,
    detected_at: datetime,
    delivery_id: str | None = None,
) -> ChangeEvent:
    """The event for a stored (or just fetched) record version."""
    return ChangeEvent(
        app_id=app_id,
        connection_id=connection_id,
        resource=version.resource,
        record_id=version.record_id,
        kind=kind,
        source=source,
        updated_at=None if kind is ChangeKind.DELETED else version.updated_at,
        detected_at=detected_at,
        delivery_id=delivery_id,
    )


def event_from_poll(
    stored: RecordVersion | None,
    fetched: RecordVersion,
    *,
    source: ChangeSource = ChangeSource.POLL,
    app_id: str,
    connection_id: str | None,
    detected_at: datetime,
) -> ChangeEvent | None:
    """The event for a polled record, or None when the store already has this (or a newer)
    version: CREATED when the store had nothing, UPDATED otherwise."""
    if stored is not None and not is_new_version(
        stored.updated_at,
        fetched.updated_at,
        stored_digest=stored.digest or None,
        incoming_digest=fetched.digest or None,
    ):
        return None
    kind = ChangeKind.CREATED if stored is None else ChangeKind.UPDATED
    return event_from_version(
        fetched,
        kind=kind,
        source=source,
        app_id=app_id,
        connection_id=connection_id,
        detected_at=detected_at,
    )


def event_from_webhook(
    event_name: str,
    version: RecordVersion,
    *,
    app_id: str,
    connection_id: str | None,
    detected_at: datetime,
    delivery_id: str | None = None,
) -> ChangeEvent | None:
    """The event for a webhook delivery (`X-drchrono-event`); None for PING.

    Raises ValueError for an event name DrChrono does not send (the ingress answers 4xx) or
    whose resource is not the version's.
    """
    if event_name == PING:
        return None
    spec = CATALOG.event(event_name)
    if spec is None:
        raise ValueError("unknown webhook event")
    if spec.resource != version.resource:
        raise ValueError("the event's resource does not match the record's")
    return event_from_version(
        version,
        kind=ChangeKind(spec.change),
        source=ChangeSource.WEBHOOK,
        app_id=app_id,
        connection_id=connection_id,
        detected_at=detected_at,
        delivery_id=delivery_id,
    )


def _utc_text(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()
