"""`webhooks reconcile` reports exactly the changes its own pass brought: the events its runs
inserted (source `reconcile`), not those other writers add to the same table meanwhile (the
planner's polls, webhooks, write-backs)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.connections import Services
from chronobridge.domain.events import ChangeEvent, ChangeKind, ChangeSource
from chronobridge.domain.mappings import default_mapping
from chronobridge.ingress import ReconcileResult, reconcile
from chronobridge.store import ChangeEvents, Database, KeyRing, open_database
from chronobridge.sync import ConnectionClients, StoredModelRow, SyncEngine
from support.webhook_stack import webhook_stack

pytestmark = pytest.mark.parametrize("db_kind", ["sqlite"])
OTHERS = (ChangeSource.POLL, ChangeSource.WEBHOOK, ChangeSource.WRITEBACK)


class Meanwhile:
    """An ingest hook that, inside the pass's own transaction, writes the events other writers
    would add at that moment: one per other source, for other records of the same resource."""

    def __init__(self, db: Database) -> None:
        self.db, self.written = db, 0

    async def after_rows(
        self, tx: AsyncConnection, app_id: int, rows: Sequence[StoredModelRow]
    ) -> None:
        if self.written:
            return
        now = datetime.now(UTC)
        events = [
            ChangeEvent(
                app_id=str(app_id),
                connection_id=None,
                resource="patients",
                record_id=f"meanwhile-{source.value}",
                kind=ChangeKind.UPDATED,
                source=source,
                updated_at=now,
                detected_at=now,
            )
            for source in OTHERS
        ]
        self.written = await ChangeEvents(self.db).insert(tx, app_id=app_id, events=events)


async def _reconcile(url: str, keyring: KeyRing, app_id: int) -> tuple[ReconcileResult, int, int]:
    """(the pass's result, events the hook wrote, all events of patients afterwards)."""
    db = await open_database(url, keys=keyring)
    try:
        hook = Meanwhile(db)
        clients = ConnectionClients(services=Services(db=db))
        engine = SyncEngine(db, clients, default_mapping(), hooks=[hook])
        [result] = await reconcile(engine, app_id, ["patients"])
        total = await ChangeEvents(db).count(app_id=app_id, resource="patients")
        return result, hook.written, total
    finally:
        await db.close()


def test_the_count_is_the_pass_own_events(database_url: str, keyring: KeyRing) -> None:
    with webhook_stack(database_url, keyring, register=False) as stack:
        listed = stack.listed("patients")
        result, others, total = asyncio.run(_reconcile(database_url, keyring, stack.app_id))
    assert others == len(OTHERS)
    assert total == len(listed) + others
    assert result.only_here == len(listed)  # every patient is new to the store, and only those
