"""Helpers for the sync tests: an app row, synthetic DrChrono records, store readers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from chronobridge.domain.timezones import TimeZones
from chronobridge.store import Apps, AppSpec, Database
from chronobridge.store.tables import change_events, model_rows, records, sync_errors

DOCTORS = [
    {"id": 268001, "timezone": "US/Eastern"},
    {"id": 268002, "timezone": "US/Pacific"},
]
TZ = TimeZones.from_doctors(DOCTORS)
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def make_app(db: Database, client_id: str = "sync-test") -> int:
    spec = AppSpec(
        name="sync test",
        client_id=client_id,
        client_secret="s3cret-not-real",
        redirect_uris=("http://127.0.0.1/cb",),
    )
    return (await Apps(db).ensure(spec)).id


def patient(pid: int, *, minutes: int = 0, **fields: Any) -> dict[str, Any]:
    """A synthetic patient as DrChrono sends it (zone-less local `updated_at`)."""
    stamp = datetime(2026, 3, 1, 7, 0) + timedelta(minutes=minutes)
    base: dict[str, Any] = {
        "id": pid,
        "doctor": 268001,
        "first_name": f"Test{pid}",
        "last_name": "Exampleton",
        "date_of_birth": "1980-01-02",
        "gender": "Female",
        "home_phone": "(217) 555-0178",
        "cell_phone": "",
        "email": f"p{pid}@example.test",
        "preferred_language": "eng",
        "race": "white",
        "ethnicity": "blank",
        "patient_status": "A",
        "updated_at": stamp.isoformat(timespec="seconds"),
    }
    return {**base, **fields}


async def table_count(db: Database, table: sa.Table, **where: Any) -> int:
    stmt = sa.select(sa.func.count()).select_from(table)
    for name, value in where.items():
        stmt = stmt.where(table.c[name] == value)
    async with db.read() as conn:
        return int((await conn.execute(stmt)).scalar_one())


async def counts(db: Database) -> dict[str, int]:
    return {
        "records": await table_count(db, records),
        "model_rows": await table_count(db, model_rows),
        "events": await table_count(db, change_events),
        "open_errors": await table_count(db, sync_errors, status="open"),
    }


async def connect_app(db: Database, base_url: str, *, user: str = "doctor1") -> tuple[int, int]:
    """An app pointing at the emulator at `base_url`, with an active connection for `user`
    whose tokens come from the emulator (the production client path, no OAuth dance)."""
    import httpx2

    from chronobridge.store import Connections, Identity, Role, TokenPair

    async with httpx2.AsyncClient(base_url=base_url) as http:
        answer = await http.post(
            "/_emulator/oauth/token", json={"client_id": "demo-client-id", "user": user}
        )
        answer.raise_for_status()
        body = answer.json()
    spec = AppSpec(
        name="emulator",
        client_id="demo-client-id",
        client_secret="demo-client-secret-not-for-production",
        redirect_uris=("http://127.0.0.1:8600/oauth/callback",),
        drchrono_url=base_url,
        rate_limit=100_000,
    )
    app = await Apps(db).ensure(spec)
    pair = TokenPair(
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
        expires_at=datetime.now(UTC) + timedelta(seconds=int(body["expires_in"])),
    )
    identity = Identity(drchrono_user_id=1, username=user, role=Role.DOCTOR, doctor_id=268001)
    connection = await Connections(db).connect(app.id, identity, pair, scopes=("patients:read",))
    return app.id, connection.id
