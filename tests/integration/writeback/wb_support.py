"""The write-back tests' rig: a real emulator (in-process over ASGI, or on a real socket), a
real database with an app and a connection, and `WritebackServices` composed the way
`chronobridge.wiring` composes them: a client per connection, the sync core's `ingest` with
the match-index hook, the default mapping.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import sqlalchemy as sa

from chronobridge.client import ClientOptions, DrChronoClient, MemoryTokenSource
from chronobridge.domain.budget import Priority
from chronobridge.domain.events import ChangeSource
from chronobridge.domain.mappings import default_mapping
from chronobridge.domain.timezones import TimeZones
from chronobridge.emulator import EmulatorConfig, create_app
from chronobridge.store import Apps, AppSpec, Connections, Database, Identity, Role, TokenPair
from chronobridge.sync import ingest
from chronobridge.writeback import MatchIndexHook, WritebackServices, WritebackSettings

BASE = "http://emulator.test"
CLIENT_ID = "demo-client-id"
FAST = WritebackSettings(
    lease=timedelta(seconds=5),
    wait_for_create=20.0,
    poll_interval=0.02,
    inline_attempts=1,
    inline_retry_cap=0.5,
)

NEW_PATIENT: dict[str, Any] = {
    "first_name": "Quorra",
    "last_name": "Vantablack",
    "date_of_birth": "1984-07-19",
    "gender": "F",
    "provider_id": "268001",
    "phone_mobile": "+12175550142",
    "email": "quorra.v@example.test",
}


@dataclass
class Rig:
    db: Database
    app_id: int
    connection_id: int
    token: str
    base_url: str
    http: httpx2.AsyncClient
    """Talks to the emulator (control API and REST with the token)."""
    services: WritebackServices
    transport: httpx2.AsyncBaseTransport | None

    def services_via(self, transport: httpx2.AsyncBaseTransport) -> WritebackServices:
        """The same services over another transport (a lossy network in front of the emulator)."""
        return services_for(
            self.db,
            token=self.token,
            base_url=self.base_url,
            transport=transport,
            settings=self.services.settings,
        )

    async def get(self, path: str, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        answer = await self.http.get(path, params=params or None, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def fault(self, **spec: Any) -> None:
        answer = await self.http.post("/_emulator/faults", json=spec)
        assert answer.status_code == 201, answer.text

    async def stats(self) -> dict[str, Any]:
        answer: dict[str, Any] = (await self.http.get("/_emulator/stats")).json()
        return answer

    async def patients_named(self, last_name: str) -> list[dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self.token}"}
        found: list[dict[str, Any]] = []
        url: str | None = "/api/patients"
        params: dict[str, str] | None = {"last_name": last_name}
        while url:
            page = (await self.http.get(url, params=params, headers=headers)).json()
            found += page["results"]
            url, params = page["next"], None
        return found


async def token_for(http: httpx2.AsyncClient, user: str = "doctor1") -> str:
    answer = await http.post("/_emulator/oauth/token", json={"client_id": CLIENT_ID, "user": user})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


async def app_and_connection(db: Database, token: str) -> tuple[int, int]:
    spec = AppSpec(
        name="writeback test",
        client_id=CLIENT_ID,
        client_secret="not-a-real-secret",
        redirect_uris=("http://127.0.0.1/cb",),
    )
    app = await Apps(db).ensure(spec)
    identity = Identity(drchrono_user_id=1, username="doctor1", role=Role.DOCTOR, doctor_id=268001)
    pair = TokenPair(access_token=token, refresh_token="unused", expires_at=_later())
    connection = await Connections(db).connect(app.id, identity, pair, scopes=())
    return app.id, connection.id


def _later() -> datetime:
    return datetime.now(UTC) + timedelta(hours=48)


def services_for(
    db: Database,
    *,
    token: str,
    base_url: str,
    transport: httpx2.AsyncBaseTransport | None = None,
    settings: WritebackSettings = FAST,
    timeout: float = 30.0,
) -> WritebackServices:
    """The services as wiring composes them, with a token the emulator issued."""

    @contextlib.asynccontextmanager
    async def clients(_connection: int | None, priority: Priority) -> AsyncIterator[DrChronoClient]:
        options = ClientOptions(priority=priority, timeout=timeout)
        client = DrChronoClient(
            tokens=MemoryTokenSource(token), base_url=base_url, transport=transport, options=options
        )
        async with client:
            yield client

    hook = MatchIndexHook(db)
    mapping = default_mapping()

    async def writeback_ingest(
        *,
        app_id: int,
        connection_id: int | None,
        resource: str,
        records: Sequence[Mapping[str, Any]],
        timezones: TimeZones,
    ) -> None:
        await ingest(
            db,
            app_id=app_id,
            resource=resource,
            records=records,
            source=ChangeSource.WRITEBACK,
            connection_id=connection_id,
            timezones=timezones,
            mapping=mapping,
            hooks=(hook,),
        )

    return WritebackServices(
        db=db, clients=clients, mapping=mapping, ingest=writeback_ingest, settings=settings
    )


@contextlib.asynccontextmanager
async def in_process(
    db: Database, config: EmulatorConfig | None = None, **options: Any
) -> AsyncIterator[Rig]:
    """The emulator in-process (ASGI, lifespan included) and the rig around it."""
    app = create_app(config or EmulatorConfig(patients=6, appointments=12))
    transport = httpx2.ASGITransport(app=app)
    http = httpx2.AsyncClient(transport=transport, base_url=BASE)
    async with app.router.lifespan_context(app), http:
        yield await _rig(db, http, BASE, transport, **options)


@contextlib.asynccontextmanager
async def over_socket(db: Database, base_url: str, **options: Any) -> AsyncIterator[Rig]:
    """The rig for an emulator already running on a real socket (`servers.running_server`)."""
    async with httpx2.AsyncClient(base_url=base_url) as http:
        yield await _rig(db, http, base_url, None, **options)


async def _rig(
    db: Database,
    http: httpx2.AsyncClient,
    base_url: str,
    transport: httpx2.AsyncBaseTransport | None,
    **options: Any,
) -> Rig:
    token = await token_for(http)
    app_id, connection_id = await app_and_connection(db, token)
    services = services_for(db, token=token, base_url=base_url, transport=transport, **options)
    return Rig(db, app_id, connection_id, token, base_url, http, services, transport)


def with_settings(rig: Rig, **changes: Any) -> WritebackServices:
    return replace_services(rig.services, settings=replace(rig.services.settings, **changes))


def replace_services(services: WritebackServices, **changes: Any) -> WritebackServices:
    fields = {
        "db": services.db,
        "clients": services.clients,
        "mapping": services.mapping,
        "ingest": services.ingest,
        "contexts": services.contexts,
        "enqueue": services.enqueue,
        "settings": services.settings,
        "clock": services.clock,
        "sleep": services.sleep,
    }
    return WritebackServices(**{**fields, **changes})


class LoseAnswers(httpx2.AsyncBaseTransport):
    """A network that loses DrChrono's answer to the first `count` matching requests after
    DrChrono acted on them: the caller sees a read timeout, as after a dropped connection."""

    def __init__(
        self, inner: httpx2.AsyncBaseTransport, *, method: str, path: str, count: int = 1
    ) -> None:
        self.inner, self.method, self.path, self.count = inner, method, path, count

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        if self.count > 0 and request.method == self.method and request.url.path == self.path:
            self.count -= 1
            await response.aread()
            await response.aclose()
            raise httpx2.ReadTimeout("the answer was lost", request=request)
        return response


async def count_rows(db: Database, table: sa.Table, **where: Any) -> int:
    stmt = sa.select(sa.func.count()).select_from(table)
    for name, value in where.items():
        stmt = stmt.where(table.c[name] == value)
    async with db.read() as conn:
        return int((await conn.execute(stmt)).scalar_one())
