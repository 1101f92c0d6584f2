"""The audit log (HI-3): append-only, hash-chained, one chain under concurrent appenders, and
`verify` names the first row someone with superuser rights altered, removed or inserted."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from chronobridge.store import GENESIS, AuditEntry, AuditLog, Database, KeyRing
from chronobridge.store.tables import audit_head
from support.store_workers import Workers

NOW = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)


def entry(n: int) -> AuditEntry:
    return AuditEntry(
        actor="user:7",
        action="patient.view",
        target_type="patient",
        target_id=f"p-{n}",
        reason="scheduled call-back",
        details={"n": n, "via": "ui", "masked": True, "ratio": 0.5, "none": None},
    )


async def filled(db: Database, count: int) -> AuditLog:
    log = AuditLog(db)
    for n in range(count):
        await log.append(entry(n), now=NOW + timedelta(seconds=n))
    return log


async def as_superuser(db: Database, statement: str) -> None:
    """Do what the append-only triggers forbid, the way someone with DDL rights could."""
    async with db.write() as tx:
        if db.is_sqlite:
            await tx.execute(sa.text("DROP TRIGGER audit_log_no_update"))
            await tx.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
        else:
            await tx.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        await tx.execute(sa.text(statement))


async def test_appends_form_a_chain_that_verifies(database: Database) -> None:
    log = await filled(database, 5)
    newest = (await log.recent(limit=1))[0]
    assert newest.seq == 5
    assert newest.details == entry(4).details
    assert newest.at == NOW + timedelta(seconds=4)
    records = list(reversed(await log.recent()))
    assert records[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
    check = await log.verify(batch=2)
    assert (check.ok, check.checked, check.first_bad_seq) == (True, 5, None)


async def test_an_empty_log_verifies(database: Database) -> None:
    check = await AuditLog(database).verify()
    assert (check.ok, check.checked) == (True, 0)


async def test_recent_filters(database: Database) -> None:
    log = await filled(database, 2)
    await log.append(
        AuditEntry(actor="worker:sync", action="sync.write", target_type="appointment")
    )
    assert [r.actor for r in await log.recent(actor="worker:sync")] == ["worker:sync"]
    assert len(await log.recent(target_type="patient")) == 2


async def test_nested_details_are_refused(database: Database) -> None:
    bad = AuditEntry(actor="a", action="b", target_type="c", details={"x": [1, 2]})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="scalar"):
        await AuditLog(database).append(bad)


async def test_update_and_delete_are_refused(database: Database) -> None:
    await filled(database, 1)
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            async with database.write() as tx:
                await tx.execute(sa.text(statement))


@pytest.mark.parametrize(
    ("statement", "first_bad", "problem"),
    [
        ("UPDATE audit_log SET reason = 'edited' WHERE seq = 3", 3, "content"),
        ("UPDATE audit_log SET details = '{}' WHERE seq = 2", 2, "content"),
        ("UPDATE audit_log SET at = at WHERE seq = 4", None, None),
        ("DELETE FROM audit_log WHERE seq = 3", 3, "missing"),
        ("DELETE FROM audit_log WHERE seq = 5", 5, "missing"),
    ],
)
async def test_tampering_is_found_at_the_exact_row(
    database: Database, statement: str, first_bad: int | None, problem: str | None
) -> None:
    log = await filled(database, 5)
    await as_superuser(database, statement)
    check = await log.verify(batch=2)
    assert check.first_bad_seq == first_bad
    assert check.ok is (first_bad is None)
    if problem is not None:
        assert problem in (check.problem or "")


async def test_a_forged_hash_is_found(
    database: Database,
) -> None:
    log = await filled(database, 4)
    await as_superuser(database, "UPDATE audit_log SET hash = prev_hash WHERE seq = 2")
    check = await log.verify()
    assert check.first_bad_seq == 2


async def test_a_head_that_does_not_match_is_reported(database: Database) -> None:
    log = await filled(database, 3)
    async with database.write() as tx:
        await tx.execute(audit_head.update().values(hash="0" * 64))
    check = await log.verify()
    assert (check.ok, check.first_bad_seq) == (False, 3)


async def test_an_audit_row_can_join_the_callers_transaction(database: Database) -> None:
    log = AuditLog(database)

    async def audited_write_that_fails(tx: AsyncConnection) -> None:
        await log.append(entry(0), tx=tx)
        raise RuntimeError("the audited write failed")

    with pytest.raises(RuntimeError):
        async with database.write() as tx:
            await audited_write_that_fails(tx)
    assert await log.recent() == []
    assert (await log.verify()).ok


async def test_concurrent_appends_in_one_process_keep_one_chain(database: Database) -> None:
    log = AuditLog(database)
    await asyncio.gather(*(log.append(entry(n)) for n in range(30)))
    check = await log.verify()
    assert (check.ok, check.checked) == (True, 30)


async def test_concurrent_appends_from_four_processes_keep_one_chain(
    database: Database, database_url: str, keyring: KeyRing
) -> None:
    workers = Workers(keyring, "audit", database_url, "worker:test", "15", count=4)
    try:
        workers.wait_ready()
        workers.go()
        assert workers.results() == [{"appended": 15}] * 4
    finally:
        workers.kill()
    check = await AuditLog(database).verify()
    assert (check.ok, check.checked) == (True, 60)
