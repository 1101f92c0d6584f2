"""A delivery whose job went missing (its dispatch failed for good, the job tables were reset)
is given its processing job by the inbox sweep: at start, and then periodically while serve
runs, not only at the next restart. Processing ids are deterministic: a delivery gets one job,
however often it is swept."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from chronobridge.ingress import delivery_job_id, open_receiver, sweep_inbox
from chronobridge.store import (
    KeyRing,
    NewDelivery,
    encrypt_payload,
    make_sync_engine,
    open_database,
    write_deliveries,
)
from chronobridge.workers import Database as JobsDatabase
from chronobridge.workers import Jobs
from support.ingress import body_for, job_ids, register_app

pytestmark = pytest.mark.parametrize(
    "db_kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)


def _orphan(url: str, keyring: KeyRing, app_id: int, delivery_id: str) -> None:
    """A delivery stored `received` without the job that should have come with it."""
    body = body_for(42)
    item = NewDelivery(
        app_id=app_id, delivery_id=delivery_id, event="PATIENT_MODIFY",
        received_at=datetime.now(UTC), signature_mode="secret",
        payload=encrypt_payload(keyring, app_id, delivery_id, body), payload_bytes=len(body),
        object_id="42", resource="patients", status="received",
        workflow_id=delivery_job_id(app_id, delivery_id),
    )  # fmt: skip
    engine = make_sync_engine(url)
    try:
        with engine.begin() as conn:
            write_deliveries(conn, [item])
    finally:
        engine.dispose()


async def _eventually(condition: object, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_a_delivery_that_lost_its_job_gets_one_while_serve_runs(
    database_url: str, keyring: KeyRing
) -> None:
    db = await open_database(database_url, keys=keyring)
    jobs = Jobs(JobsDatabase.parse(database_url), keyring)
    try:
        app_id = await register_app(db)
        await jobs.prepare_async()
        async with open_receiver(
            db, jobs, database_url=database_url, sweep_every=0.1, sweep_age=0.3
        ):
            await asyncio.sleep(0.3)  # the sweep at start has run: this one comes later
            _orphan(database_url, keyring, app_id, "orphan-1")
            expected = delivery_job_id(app_id, "orphan-1")
            await _eventually(lambda: expected in job_ids(database_url))
            await asyncio.sleep(0.5)  # several more sweeps: still one job
        assert job_ids(database_url) == [expected]
    finally:
        jobs.close()
        await db.close()


async def test_the_sweep_leaves_young_deliveries_to_their_dispatch(
    database_url: str, keyring: KeyRing
) -> None:
    db = await open_database(database_url, keys=keyring)
    jobs = Jobs(JobsDatabase.parse(database_url), keyring)
    try:
        app_id = await register_app(db)
        await jobs.prepare_async()
        _orphan(database_url, keyring, app_id, "young")
        assert await sweep_inbox(db, jobs, older_than=3600) == 0
        assert job_ids(database_url) == []
        assert await sweep_inbox(db, jobs) == 1
        assert await sweep_inbox(db, jobs) == 0  # still `received`, but it has its job now
        assert job_ids(database_url) == [delivery_job_id(app_id, "young")]
    finally:
        jobs.close()
        await db.close()
