"""Applying a delivery through the sync engine's own write path (`sync.ingest`,
`sync.mark_deleted`), so a change seen by a webhook and by a poll is one change event.

Every delivery is a hint, DELETE events included: the object is fetched by id at the budget's
webhook priority, as a connection of the delivery's application that may read the resource
(the record's own doctor's connection first, then any provider's, then a staff member's), and
DrChrono's answer decides:

- 404: the record is gone, it is marked deleted;
- a record DrChrono keeps but flags deleted (`deleted_flag`, or `archived` for a task): stored
  as served, and marked deleted in the same transaction, as the sync engine does;
- a live record: ingested, whatever the event said. A DELETE for a live record deletes nothing,
  so a spurious or forged DELETE (in `secret` signature mode anyone who saw one delivery can
  sign one) costs one API call, not a record.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chronobridge.catalog import CATALOG, Kind, scope_allows
from chronobridge.client import DrChronoClient
from chronobridge.connections import Services, open_client
from chronobridge.domain.budget import Priority
from chronobridge.domain.events import ChangeSource
from chronobridge.domain.mappings import CompiledMapping
from chronobridge.domain.timezones import TimeZones
from chronobridge.errors import NeedsReconnect, NotFound
from chronobridge.ingress._routing import Action, Route
from chronobridge.store import (
    Connection,
    Connections,
    ConnectionStatus,
    Inbox,
    Records,
    Role,
    StoredDelivery,
)
from chronobridge.sync import IngestHook, ingest, is_flagged_deleted, mark_deleted

__all__ = ["SyncApplier", "choose_reader"]

ZONES_TTL = 300.0


@dataclass(kw_only=True)
class SyncApplier:
    """The `Applier` of a process: fetch, then ingest or mark deleted."""

    services: Services
    mapping: CompiledMapping
    hooks: Sequence[IngestHook] = ()
    _zones: dict[int, tuple[float, TimeZones]] = field(default_factory=dict)

    async def __call__(self, delivery: StoredDelivery, route: Route) -> int:
        if delivery.object_id is None:  # the receiver stores none such for a known event
            return 0
        payload = await _payload_object(self.services, delivery)
        connection = await self._reader(delivery.app_id, route.resource, payload.get("doctor"))
        async with await open_client(
            self.services, connection, priority=Priority.WEBHOOK
        ) as client:
            try:
                record = await client.resource(route.resource).get(
                    delivery.object_id, **route.params
                )
            except NotFound:
                return await self._delete(delivery, route, connection.id)
            zones = await self.timezones(delivery.app_id, client)
        return await self._apply(delivery, route, connection.id, record, zones)

    async def _apply(
        self,
        delivery: StoredDelivery,
        route: Route,
        connection_id: int,
        record: Mapping[str, Any],
        zones: TimeZones,
    ) -> int:
        """Ingest the record; one DrChrono keeps but flags deleted is recorded as deleted in
        the same transaction. A DELETE event's own kind is not the record's: a live record
        is announced as the created or updated version it is."""
        now = self.services.now()
        db = self.services.db
        async with db.write() as tx:
            report = await ingest(
                db,
                app_id=delivery.app_id,
                resource=route.resource,
                records=[record],
                source=ChangeSource.WEBHOOK,
                connection_id=connection_id,
                timezones=zones,
                mapping=self.mapping,
                hooks=self.hooks,
                delivery_id=delivery.delivery_id,
                kind=None if route.action is Action.DELETE else route.kind,
                now=now,
                tx=tx,
            )
            events = report.events
            if is_flagged_deleted(record) and delivery.object_id is not None:
                gone = await mark_deleted(
                    db,
                    app_id=delivery.app_id,
                    resource=route.resource,
                    external_ids=[delivery.object_id],
                    source=ChangeSource.WEBHOOK,
                    connection_id=connection_id,
                    delivery_id=delivery.delivery_id,
                    now=now,
                    tx=tx,
                )
                events += gone.events
        return events

    async def _delete(self, delivery: StoredDelivery, route: Route, connection: int) -> int:
        report = await mark_deleted(
            self.services.db,
            app_id=delivery.app_id,
            resource=route.resource,
            external_ids=[delivery.object_id] if delivery.object_id else [],
            source=ChangeSource.WEBHOOK,
            connection_id=connection,
            delivery_id=delivery.delivery_id,
            now=self.services.now(),
        )
        return report.events

    async def _reader(self, app_id: int, resource: str, doctor: object) -> Connection:
        found = await Connections(self.services.db).list(
            app_id=app_id, status=ConnectionStatus.ACTIVE
        )
        chosen = choose_reader(found, resource, doctor=doctor)
        if chosen is None:
            raise NeedsReconnect(
                f"No active connection of application {app_id} may read {resource}",
                hint="Connect a provider of the practice: chronobridge connect.",
            )
        return chosen

    async def timezones(self, app_id: int, client: DrChronoClient) -> TimeZones:
        """The doctors' zones (kept five minutes): from the stored `doctors` records, or from
        DrChrono when none is stored yet (a webhook before the first sync)."""
        cached = self._zones.get(app_id)
        if cached is not None and time.monotonic() - cached[0] < ZONES_TTL:
            return cached[1]
        stored = await Records(self.services.db).page(app_id=app_id, resource="doctors")
        doctors = [record.payload for record in stored]
        if not doctors:
            doctors = [doctor async for doctor in client.resource("doctors").list()]
        zones = TimeZones.from_doctors(doctors)
        self._zones[app_id] = (time.monotonic(), zones)
        return zones


def choose_reader(
    connections: Sequence[Connection], resource: str, *, doctor: object = None
) -> Connection | None:
    """The connection to read `resource` with: allowed by its scopes, the record's own doctor
    first, then a provider, then staff; among equals the longest-standing."""
    operation = CATALOG.resource(resource).op(Kind.GET)
    allowed = [
        c
        for c in connections
        if c.status is ConnectionStatus.ACTIVE
        and (operation is None or scope_allows(operation, set(c.scopes)))
    ]

    def rank(connection: Connection) -> tuple[int, int, int]:
        own = doctor is not None and str(connection.doctor_id) == str(doctor)
        return (0 if own else 1, 0 if connection.role is Role.DOCTOR else 1, connection.id)

    return min(allowed, key=rank, default=None)


async def _payload_object(services: Services, delivery: StoredDelivery) -> Mapping[str, Any]:
    """The delivered object (to pick the doctor's connection); never logged or returned."""
    try:
        document = json.loads(await Inbox(services.db).payload(delivery))
    except ValueError:
        return {}
    obj = document.get("object") if isinstance(document, dict) else None
    return obj if isinstance(obj, dict) else {}
