"""Matching in the store: the ingest hook keeps the index and opens one review per duplicate
group; inbound patients are exact, possible (reviewed) or new; the blind-index key survives
key rotation; and no patient data lands in any plaintext column."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from wb_support import NEW_PATIENT, app_and_connection, count_rows, in_process, services_for

from chronobridge.domain.events import ChangeSource
from chronobridge.domain.mappings import MappingContext, apply, default_mapping
from chronobridge.domain.matching import MatchKind, identity_from_row, match_keys
from chronobridge.domain.timezones import TimeZones
from chronobridge.domain.writeback import ModelChange, WriteAction
from chronobridge.store import (
    AuditLog,
    BlindIndex,
    Database,
    KeyRing,
    MatchIndex,
    ReviewKind,
    reencrypt_all,
)
from chronobridge.store.tables import match_keys as mk_table
from chronobridge.store.tables import match_reviews, metadata
from chronobridge.sync import ingest
from chronobridge.writeback import MatchIndexHook, ReviewQueue, match_inbound, model_values, submit

TZ = TimeZones.build({268001: "US/Eastern"}, default="US/Eastern")
CANARY = "Quillfeatherby"


def drchrono_patient(pid: int, *, minutes: int = 0, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": pid,
        "doctor": 268001,
        "first_name": "Marigold",
        "last_name": CANARY,
        "date_of_birth": "1975-03-14",
        "gender": "Female",
        "home_phone": "(217) 555-0131",
        "cell_phone": "",
        "email": f"m{pid}@example.test",
        "patient_status": "A",
        "updated_at": f"2026-03-01T07:{minutes:02d}:00",
    }
    return {**base, **fields}


async def sync_in(db: Database, app_id: int, records: list[dict[str, Any]]) -> None:
    await ingest(
        db,
        app_id=app_id,
        resource="patients",
        records=records,
        source=ChangeSource.POLL,
        connection_id=None,
        timezones=TZ,
        mapping=default_mapping(),
        hooks=(MatchIndexHook(db),),
    )


async def test_duplicates_inside_drchrono_open_one_review(database: Database) -> None:
    app_id, _ = await app_and_connection(database, "unused-token")
    stranger = drchrono_patient(
        777, first_name="Zed", date_of_birth="1999-09-09", home_phone="(217) 555-0177"
    )
    await sync_in(database, app_id, [drchrono_patient(501), stranger])
    assert await count_rows(database, match_reviews) == 0
    await sync_in(database, app_id, [drchrono_patient(502, email="other@example.test")])
    reviews = await _reviews(database)
    assert len(reviews) == 1
    assert reviews[0].kind is ReviewKind.DUPLICATE_IN_DRCHRONO
    assert reviews[0].strength == "exact"
    assert (reviews[0].candidate_id, reviews[0].matched_ids) == ("502", ("501",))
    # Re-syncs of either patient, and a dismissed review, open nothing new.
    await sync_in(
        database, app_id, [drchrono_patient(501, minutes=5), drchrono_patient(502, minutes=5)]
    )
    services = _services(database)
    await ReviewQueue(services).dismiss(reviews[0].id, actor="test")
    await sync_in(database, app_id, [drchrono_patient(502, minutes=9)])
    assert await count_rows(database, match_reviews) == 1


async def test_the_index_follows_each_patients_identity(database: Database) -> None:
    """A re-sync stores exactly the keys of the patient's new identity and rewrites only the
    keys that changed; an update that leaves name, birth date, phones and email alone leaves
    every index row as it was (the same physical row: SQLite rowid, PostgreSQL xmin)."""
    app_id, _ = await app_and_connection(database, "unused-token")
    await sync_in(database, app_id, [drchrono_patient(901), drchrono_patient(902)])
    before = await _index_rows(database)
    await sync_in(database, app_id, [drchrono_patient(901, minutes=3, patient_status="I")])
    assert await _index_rows(database) == before
    moved = drchrono_patient(
        902, minutes=4, last_name="Newname", home_phone="", cell_phone="(217) 555-0199"
    )
    await sync_in(database, app_id, [moved])
    after = await _index_rows(database)
    index = MatchIndex(database)
    rows = await index.row_ids(app_id, "patient", ["901", "902"])
    stored = await index.keys_of([rows["901"][0], rows["902"][0]])
    hasher = await BlindIndex(database).hasher()
    for record in (drchrono_patient(901), moved):
        mapped = apply(default_mapping(), "patients", record, MappingContext(timezones=TZ))
        expected = match_keys(identity_from_row(mapped.values), hasher=hasher)
        assert stored[rows[str(record["id"])][0]] == frozenset(expected)
    row_902 = rows["902"][0]
    kept = {k: v for k, v in before.items() if k[0] == row_902 and k in after}
    assert {k[1] for k in kept} >= {"dob_email", "first_dob_email"}  # the email stayed
    assert all(after[k] == v for k, v in kept.items())  # ... and its keys were not rewritten
    gone = {k[1] for k in before if k[0] == row_902 and k not in after}
    assert gone >= {"name_dob", "dob_phone"}


async def _index_rows(db: Database) -> dict[tuple[int, str, str], str]:
    """(model row, rule, key) → the row's physical version."""
    version = sa.literal_column("rowid" if db.is_sqlite else "xmin::text")
    query = sa.select(mk_table.c.model_row_id, mk_table.c.rule, mk_table.c.key, version)
    async with db.read() as conn:
        return {(r[0], r[1], r[2]): str(r[3]) for r in (await conn.execute(query)).all()}


async def test_inbound_patients_are_exact_possible_or_new(database: Database) -> None:
    app_id, _ = await app_and_connection(database, "unused-token")
    await sync_in(database, app_id, [drchrono_patient(601)])
    services = _services(database)
    same = {"first_name": "MARIGOLD", "last_name": f"{CANARY} ", "date_of_birth": "1975-03-14"}
    exact = await match_inbound(services, app_id, same)
    assert exact.decision.kind is MatchKind.EXACT
    assert exact.patient_id == "601"
    assert exact.review is None
    typo = {
        **same,
        "first_name": "Marigolde",
        "date_of_birth": "1975-03-14",
        "phone_home": "217-555-0131",
    }
    possible = await match_inbound(services, app_id, typo)
    assert possible.decision.kind is MatchKind.POSSIBLE
    assert possible.review is not None
    assert possible.review.kind is ReviewKind.INBOUND
    assert possible.review.matched_ids == ("601",)
    assert (await match_inbound(services, app_id, typo)).review == possible.review  # once
    stranger = {"first_name": "Otto", "last_name": "Brandywine", "date_of_birth": "1990-01-01"}
    assert (await match_inbound(services, app_id, stranger)).decision.kind is MatchKind.NONE
    details = await ReviewQueue(services).show(possible.review.id, actor="user:7", reason="test")
    assert details.values is not None
    assert details.values["first_name"] == "Marigolde"
    audit = await AuditLog(database).recent(limit=5)
    assert [(a.action, a.actor, a.target_id) for a in audit][:1] == [
        ("match_review.view", "user:7", str(possible.review.id))
    ]


async def test_matching_survives_encryption_key_rotation(database: Database) -> None:
    app_id, _ = await app_and_connection(database, "unused-token")
    await sync_in(database, app_id, [drchrono_patient(701)])
    rotated = Database(database.engine, database.keys.with_new_key(KeyRing.new_key()))
    await reencrypt_all(rotated)
    only_new = Database(database.engine, KeyRing([rotated.keys.keys[0]]))
    found = await match_inbound(
        _services(only_new),
        app_id,
        {"first_name": "Marigold", "last_name": CANARY, "date_of_birth": "1975-03-14"},
    )
    assert (found.decision.kind, found.patient_id) == (MatchKind.EXACT, "701")


async def test_no_patient_data_in_any_plaintext_column(database: Database) -> None:
    """After a write-back create (outbox, create lock, model row, match keys), an inbound
    review with a note, and a synced duplicate: a dump of every plaintext column."""
    async with in_process(database) as rig:
        services = rig.services
        values = model_values(services.mapping, "patient", {**NEW_PATIENT, "last_name": CANARY})
        change = ModelChange(model="patient", action=WriteAction.CREATE, values=values)
        created = await submit(
            services, change, app_id=rig.app_id, connection_id=rig.connection_id, inline=True
        )
        assert created.ok, created.message
        await sync_in(database, rig.app_id, [drchrono_patient(801), drchrono_patient(802)])
        typo = {"first_name": "Marigolda", "last_name": CANARY, "date_of_birth": "1975-03-14"}
        review = (await match_inbound(services, rig.app_id, typo)).review
        assert review is not None
        await ReviewQueue(services).dismiss(review.id, actor="test", note=f"not {CANARY}")
        dumped = await _plaintext(database)
    for table in ("match_keys", "match_reviews", "hub_secrets", "pending_creates", "writebacks"):
        assert await count_rows(database, metadata.tables[table]) > 0, table
    canaries = (CANARY, CANARY.lower(), "arigold", "Quorra", "1975-03-14", "1984-07-19")
    for secret in (*canaries, "5550131", "5550142", "example.test"):
        assert secret not in dumped, secret
    assert str(created.drchrono_id) in dumped  # positive control: DrChrono ids are plain text


async def _reviews(db: Database) -> list[Any]:
    return await ReviewQueue(_services(db)).list(status=None)


def _services(db: Database) -> Any:
    return services_for(db, token="unused", base_url="http://unused.invalid")


async def _plaintext(db: Database) -> str:
    """Every non-encrypted column of every table, as a dump would show it."""
    out: list[str] = []
    async with db.read() as conn:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if not c.info.get("encrypted")]
            rows = (await conn.execute(sa.select(*columns))).all()
            out.append(json.dumps([list(r) for r in rows], default=str))
    return "\n".join(out)
