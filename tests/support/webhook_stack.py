"""The whole webhook path on real sockets: the emulator (uvicorn in a thread), the hub's web
app with its embedded worker (uvicorn in another thread), one application whose webhook points
at the hub, and doctor1 connected through the real OAuth flow.

    with webhook_stack(database_url, keyring) as stack:
        stack.emulator("POST", "/_emulator/churn", {"changes": 5})
        stack.wait(lambda: stack.count("change_events") >= 5)

The hub's workflows run on DBOS's own event loop, so everything here is synchronous from the
test's point of view (the test thread only sends requests and reads the database).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import httpx2

from chronobridge.connections import (
    Services,
    complete_authorization,
    probe_authorization,
    start_authorization,
)
from chronobridge.domain.mappings import default_mapping
from chronobridge.emulator import EmulatorConfig
from chronobridge.emulator import create_app as create_emulator
from chronobridge.emulator._config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REDIRECT_URI,
)
from chronobridge.ingress import ReconcileResult, processing_from_settings, reconcile
from chronobridge.settings import Settings
from chronobridge.store import Apps, AppSpec, KeyRing, Records, open_database
from chronobridge.sync import ConnectionClients, SyncEngine, plan_for
from chronobridge.sync._prepare import canonical_json, digest_of
from chronobridge.web import ServeOptions, create_app
from chronobridge.workers import Database as JobsDatabase
from chronobridge.workers import Liveness, WorkerConfig
from support import sql
from support.ingress import SECRET
from support.servers import running_server

FAST = Liveness(heartbeat_interval_sec=0.5, dead_after_sec=5.0, sweep_interval_sec=2.0)


@dataclass
class Stack:
    emulator_url: str
    hub_url: str
    database_url: str
    keyring: KeyRing
    app_id: int
    http: httpx2.Client
    emulator_state: Any = None
    """The emulator's in-process state (`EmulatorState`): tests change records through it."""
    extra: dict[str, Any] = field(default_factory=dict)

    def emulator(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.http.request(method, self.emulator_url + path, json=body)
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else None

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """DrChrono's REST API as staff1 (not doctor1: a new token would end the hub's)."""
        headers = {"Authorization": f"Bearer {self.staff_token()}"}
        answer = self.http.request(method, self.emulator_url + path, json=body, headers=headers)
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else None

    def staff_token(self) -> str:
        if "token" not in self.extra:
            answer = self.emulator(
                "POST", "/_emulator/oauth/token", {"client_id": DEFAULT_CLIENT_ID, "user": "staff1"}
            )
            self.extra["token"] = answer["access_token"]
        return str(self.extra["token"])

    def finished(self) -> int:
        return self.count("webhook_deliveries", "status IN ('done', 'duplicate', 'failed')")

    def count(self, table: str, where: str = "1=1") -> int:
        return int(self.scalar(f"SELECT count(*) FROM {table} WHERE {where}"))  # noqa: S608

    def scalar(self, query: str) -> Any:
        return sql.scalar(self.database_url, query)

    def rows(self, query: str) -> list[Any]:
        return sql.rows(self.database_url, query)

    def listed(self, resource: str, token: str | None = None) -> dict[str, tuple[str, Any]]:
        """Every live record of `resource` as the emulator lists it to staff1 (or the holder
        of `token`): id -> (digest, updated_at)."""
        token = token or self.staff_token()
        plan = plan_for(resource)
        params: dict[str, Any] = {**plan.filters, **plan.backfill_filters, "page_size": 250}
        url: str | None = f"{self.emulator_url}/api/{resource}"
        found: dict[str, tuple[str, Any]] = {}
        while url:
            page = self.http.get(url, params=params, headers={"Authorization": f"Bearer {token}"})
            assert page.status_code == 200, page.text
            body = page.json()
            live = [r for r in body["results"] if r.get("deleted_flag") is not True]
            found.update(
                {str(r["id"]): (digest_of(canonical_json(r)), r.get("updated_at")) for r in live}
            )
            url, params = body.get("next"), {}
        return found

    def stored(self, resource: str) -> dict[str, str]:
        """Every live stored record of `resource`: id -> digest."""
        return asyncio.run(stored_digests(self.database_url, self.keyring, self.app_id, resource))

    def reconcile(self, resources: list[str] | None = None) -> list[ReconcileResult]:
        """One `chronobridge webhooks reconcile` pass, in this thread."""
        return asyncio.run(reconcile_now(self.database_url, self.keyring, self.app_id, resources))

    def wait(self, condition: Callable[[], Any], *, within: float = 30.0) -> Any:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError("condition not met in time")


async def reconcile_now(
    url: str, keyring: KeyRing, app_id: int, resources: list[str] | None = None
) -> list[ReconcileResult]:
    db = await open_database(url, keys=keyring)
    try:
        engine = SyncEngine(db, ConnectionClients(services=Services(db=db)), default_mapping())
        return await reconcile(engine, app_id, resources)
    finally:
        await db.close()


async def stored_digests(url: str, keyring: KeyRing, app_id: int, resource: str) -> dict[str, str]:
    db = await open_database(url, keys=keyring)
    try:
        return await Records(db).digests(app_id=app_id, resource=resource)
    finally:
        await db.close()


def emulator_config(**overrides: Any) -> EmulatorConfig:
    settings: dict[str, Any] = {"patients": 8, "appointments": 16, "rate_limit": 100_000}
    settings.update(auto_approve="doctor1", **overrides)
    return EmulatorConfig(**settings)


async def _prepare(database_url: str, keyring: KeyRing, emulator_url: str) -> int:
    db = await open_database(database_url, keys=keyring)
    try:
        app = await Apps(db).create(
            AppSpec(
                name="emu",
                client_id=DEFAULT_CLIENT_ID,
                client_secret=DEFAULT_CLIENT_SECRET,
                redirect_uris=(DEFAULT_REDIRECT_URI,),
                drchrono_url=emulator_url,
                rate_limit=100_000,
                webhook_secret=SECRET,
            )
        )
        services = Services(db=db)
        start = await start_authorization(services, app)
        probe = await probe_authorization(services, start)
        assert probe.callback is not None
        await complete_authorization(services, probe.callback)
        return app.id
    finally:
        await db.close()


def hub_options(database_url: str, keyring: KeyRing, **overrides: Any) -> ServeOptions:
    settings = Settings(
        database_url=database_url, encryption_keys=",".join(k.decode() for k in keyring.keys)
    )
    worker = WorkerConfig(
        database=JobsDatabase.parse(database_url),
        cipher=keyring,
        executor_id="hub-test",
        polling_interval_sec=0.05,
        scheduler_polling_interval_sec=0.5,
        liveness=FAST,
        shutdown_timeout_sec=0,
    )
    options = ServeOptions(
        database_url=database_url,
        keys=keyring,
        worker=worker,
        processing=processing_from_settings(settings),
        sweep=True,
    )
    return replace(options, **overrides)


@contextlib.contextmanager
def webhook_stack(
    database_url: str,
    keyring: KeyRing,
    *,
    emulator: EmulatorConfig | None = None,
    register: bool = True,
    signature: str = "secret",
    **options: Any,
) -> Iterator[Stack]:
    emulator_app = create_emulator(emulator or emulator_config())
    with running_server(emulator_app) as emulator_url:
        app_id = asyncio.run(_prepare(database_url, keyring, emulator_url))
        hub = create_app(hub_options(database_url, keyring, **options))
        with running_server(hub) as hub_url, httpx2.Client(timeout=30) as http:
            stack = Stack(emulator_url, hub_url, database_url, keyring, app_id, http)
            stack.emulator_state = emulator_app.state.emulator
            if register:
                registration = stack.emulator(
                    "PUT",
                    f"/_emulator/webhooks/{DEFAULT_CLIENT_ID}",
                    {
                        "url": f"{hub_url}/webhooks/drchrono",
                        "secret": SECRET,
                        "signature": signature,
                    },
                )
                assert registration["verified"], registration
            yield stack
