"""Apps, connections, tokens and the API log round-trip on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chronobridge.domain.budget import Priority
from chronobridge.errors import ConfigError, NeedsReconnect
from chronobridge.settings import Settings
from chronobridge.store import (
    ApiCall,
    ApiCallLog,
    App,
    Apps,
    AppSpec,
    Connections,
    ConnectionStatus,
    Database,
    Identity,
    Role,
    TokenPair,
    Tokens,
)

NOW = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)


def spec(client_id: str = "client-1", **changes: object) -> AppSpec:
    values: dict[str, object] = {
        "name": "Practice app",
        "client_id": client_id,
        "client_secret": f"secret-of-{client_id}",
        "redirect_uris": ("http://127.0.0.1:8600/oauth/callback",),
        "webhook_secret": "hook-secret",
        "scopes": ("patients:read", "calendar:read"),
        "patient_iframe_url": "https://hub.example/iframe/patient",
        "patient_iframe_height": 600,
    }
    values.update(changes)
    return AppSpec(**values)  # type: ignore[arg-type]


def pair(tag: str, *, hours: int = 48) -> TokenPair:
    return TokenPair(
        access_token=f"access-{tag}",
        refresh_token=f"refresh-{tag}",
        expires_at=NOW + timedelta(hours=hours),
    )


DOCTOR = Identity(
    drchrono_user_id=9001,
    username="dr_smith",
    role=Role.DOCTOR,
    doctor_id=300,
    practice_group=77,
    display_name="Dr. Smith",
)
STAFF = Identity(
    drchrono_user_id=9002, username="front_desk", role=Role.STAFF, doctor_id=300, practice_group=77
)


async def make_app(db: Database, client_id: str = "client-1") -> App:
    return await Apps(db).create(spec(client_id), now=NOW)


# --- apps --------------------------------------------------------------------------------------


async def test_an_app_round_trips_with_its_secrets(database: Database) -> None:
    apps = Apps(database)
    app = await apps.create(spec(), now=NOW)
    assert app.id > 0
    assert app.client_secret == "secret-of-client-1"
    assert app.webhook_secret == "hook-secret"
    assert app.rate_limit == 500
    assert app.scopes == ("patients:read", "calendar:read")
    assert app.created_at == NOW
    assert await apps.get(app.id) == app
    assert await apps.by_client_id("client-1") == app
    assert await apps.list() == [app]
    assert "secret-of-client-1" not in repr(app)
    assert "hook-secret" not in repr(app)


async def test_a_second_app_with_the_same_client_id_is_refused(database: Database) -> None:
    await make_app(database)
    with pytest.raises(ConfigError, match="client-1"):
        await make_app(database)


async def test_ensure_creates_then_updates_in_place(database: Database) -> None:
    apps = Apps(database)
    first = await apps.ensure(spec(), now=NOW)
    later = NOW + timedelta(days=1)
    second = await apps.ensure(spec(client_secret="rotated", rate_limit=450), now=later)
    assert second.id == first.id
    assert second.client_secret == "rotated"
    assert second.rate_limit == 450
    assert second.created_at == NOW
    assert second.updated_at == later
    assert len(await apps.list()) == 1


async def test_update_and_delete(database: Database) -> None:
    apps = Apps(database)
    app = await make_app(database)
    updated = await apps.update(app.id, spec(webhook_secret=None, name="Renamed"), now=NOW)
    assert updated.name == "Renamed"
    assert updated.webhook_secret is None
    assert await apps.delete(app.id)
    assert await apps.get(app.id) is None
    assert not await apps.delete(app.id)
    with pytest.raises(ConfigError):
        await apps.update(app.id, spec(), now=NOW)


async def test_the_default_app_comes_from_settings(database: Database) -> None:
    settings = Settings(
        client_id="from-env",
        client_secret="env-secret",  # type: ignore[arg-type]
        scopes=("user:read",),
    )
    app = await Apps(database).ensure(AppSpec.from_settings(settings))
    assert (app.client_id, app.client_secret, app.scopes) == (
        "from-env",
        "env-secret",
        ("user:read",),
    )
    assert app.redirect_uris == (settings.redirect_uri,)
    with pytest.raises(ConfigError):
        AppSpec.from_settings(Settings(client_id=None))


# --- connections and tokens --------------------------------------------------------------------


async def test_connect_stores_the_connection_and_its_tokens(database: Database) -> None:
    app = await make_app(database)
    conn = await Connections(database).connect(
        app.id, DOCTOR, pair("one"), scopes=("patients:read",), now=NOW
    )
    assert conn.status is ConnectionStatus.ACTIVE
    assert (conn.role, conn.doctor_id, conn.display_name) == (Role.DOCTOR, 300, "Dr. Smith")
    stored = await Tokens(database).get(conn.id)
    assert stored is not None
    assert (stored.access_token, stored.refresh_token) == ("access-one", "refresh-one")
    assert stored.generation == 1
    assert stored.expires_at == NOW + timedelta(hours=48)
    assert "access-one" not in repr(stored)


async def test_reconnecting_the_same_user_replaces_tokens_without_a_duplicate(
    database: Database,
) -> None:
    app = await make_app(database)
    connections = Connections(database)
    first = await connections.connect(app.id, DOCTOR, pair("one"), scopes=(), now=NOW)
    await connections.set_status(first.id, ConnectionStatus.NEEDS_RECONNECT, now=NOW)
    renamed = Identity(**{**DOCTOR.__dict__, "display_name": "Dr. J. Smith"})
    later = NOW + timedelta(hours=1)
    second = await connections.connect(
        app.id, renamed, pair("two"), scopes=("user:read",), now=later
    )
    assert second.id == first.id
    assert second.status is ConnectionStatus.ACTIVE
    assert second.display_name == "Dr. J. Smith"
    assert second.created_at == NOW
    assert second.scopes == ("user:read",)
    assert len(await connections.list(app_id=app.id)) == 1
    stored = await Tokens(database).get(first.id)
    assert stored is not None
    assert stored.refresh_token == "refresh-two"


async def test_the_same_user_of_another_app_is_another_connection(database: Database) -> None:
    one, two = await make_app(database, "a"), await make_app(database, "b")
    connections = Connections(database)
    c1 = await connections.connect(one.id, DOCTOR, pair("a"), scopes=(), now=NOW)
    c2 = await connections.connect(two.id, DOCTOR, pair("b"), scopes=(), now=NOW)
    assert c1.id != c2.id
    assert await connections.find(two.id, DOCTOR.drchrono_user_id) == c2


async def test_status_changes_drop_tokens(database: Database) -> None:
    app = await make_app(database)
    connections, tokens = Connections(database), Tokens(database)
    conn = await connections.connect(app.id, DOCTOR, pair("one"), scopes=(), now=NOW)
    await tokens.mark_needs_reconnect(conn.id, now=NOW)
    assert await tokens.get(conn.id) is None
    again = await connections.get(conn.id)
    assert again is not None
    assert again.status is ConnectionStatus.NEEDS_RECONNECT
    assert await connections.list(status=ConnectionStatus.NEEDS_RECONNECT) == [again]
    with pytest.raises(NeedsReconnect):
        async with tokens.begin_refresh(conn.id):
            pass


async def test_a_provider_deauthorizing_removes_their_staff_too(database: Database) -> None:
    app = await make_app(database)
    connections, tokens = Connections(database), Tokens(database)
    doctor = await connections.connect(app.id, DOCTOR, pair("d"), scopes=(), now=NOW)
    staff = await connections.connect(app.id, STAFF, pair("s"), scopes=(), now=NOW)
    other = await connections.connect(
        app.id,
        Identity(drchrono_user_id=1, username="other", role=Role.DOCTOR, doctor_id=301),
        pair("o"),
        scopes=(),
        now=NOW,
    )
    assert await connections.deauthorize_provider(app.id, 300, now=NOW) == 2
    for conn in (doctor, staff):
        assert await tokens.get(conn.id) is None
        found = await connections.get(conn.id)
        assert found is not None
        assert found.status is ConnectionStatus.DEAUTHORIZED
    assert await tokens.get(other.id) is not None
    assert [c.id for c in await connections.list(doctor_id=300)] == [doctor.id, staff.id]


async def test_touch_and_delete(database: Database) -> None:
    app = await make_app(database)
    connections = Connections(database)
    conn = await connections.connect(app.id, DOCTOR, pair("one"), scopes=(), now=NOW)
    await connections.touch(conn.id, now=NOW + timedelta(minutes=5))
    touched = await connections.get(conn.id)
    assert touched is not None
    assert touched.last_used_at == NOW + timedelta(minutes=5)
    assert await connections.delete(conn.id)
    assert await Tokens(database).get(conn.id) is None
    assert await connections.get(conn.id) is None


async def test_deleting_an_app_removes_everything_under_it(database: Database) -> None:
    app = await make_app(database)
    conn = await Connections(database).connect(app.id, DOCTOR, pair("one"), scopes=(), now=NOW)
    await Apps(database).delete(app.id)
    assert await Connections(database).get(conn.id) is None
    assert await Tokens(database).get(conn.id) is None


async def test_saving_tokens_inside_a_callers_transaction(database: Database) -> None:
    app = await make_app(database)
    conn = await Connections(database).connect(app.id, DOCTOR, pair("one"), scopes=(), now=NOW)
    tokens = Tokens(database)

    async def save_then_fail() -> None:
        async with database.write() as tx:
            await tokens.save(conn.id, pair("two"), now=NOW, tx=tx)
            raise RuntimeError("the caller's transaction fails")

    with pytest.raises(RuntimeError):
        await save_then_fail()
    stored = await tokens.get(conn.id)
    assert stored is not None
    assert (stored.refresh_token, stored.generation) == ("refresh-one", 1)


# --- API log -----------------------------------------------------------------------------------


async def test_the_api_log_keeps_templates_and_no_query_values(database: Database) -> None:
    app = await make_app(database)
    conn = await Connections(database).connect(app.id, DOCTOR, pair("one"), scopes=(), now=NOW)
    log = ApiCallLog(database)
    call = ApiCall(
        at=NOW,
        app_id=app.id,
        connection_id=conn.id,
        method="get",
        path="/api/patients?last_name=Canary",
        status=200,
        duration_ms=42,
        bytes_in=1200,
        bytes_out=0,
        priority=Priority.POLL,
        operation="patients_list",
    )
    first = await log.record(call)
    await log.record(
        ApiCall(
            **{
                **call.__dict__,
                "at": NOW + timedelta(seconds=1),
                "status": 429,
                "error_class": "RateLimited",
                "connection_id": None,
            }
        )
    )
    newest, oldest = await log.recent(app_id=app.id)
    assert oldest.id == first
    assert (oldest.method, oldest.path, oldest.priority) == ("GET", "/api/patients", Priority.POLL)
    assert (newest.status, newest.error_class) == (429, "RateLimited")
    assert [c.id for c in await log.recent(connection_id=conn.id)] == [first]
    assert len(await log.recent(since=NOW + timedelta(milliseconds=500))) == 1
    assert await log.prune(before=NOW + timedelta(milliseconds=500)) == 1
    assert [c.status for c in await log.recent()] == [429]
