"""The hub's web app for the ingress benchmark, plus bare `return 200` routes in the same app
(same middleware, same server): prints `READY` once listening.

    python -m bench._webhooks_server PORT DATABASE_URL   (keys in CHRONOBRIDGE_ENCRYPTION_KEYS)

The baselines, next to the webhook's own routes in the app's router:

- `/bare`: a plain ASGI endpoint behind a Starlette route, mounted exactly as the webhook's
  endpoint is: the cheapest `return 200` this server offers a route like the webhook;
- `/bare-route`: a Starlette function route (`Request` in, `Response` out);
- `/bare-di`: a FastAPI route with dependency injection (what most FastAPI apps' routes are).

`BENCH_WRITER=thread` stores webhooks from a thread of the server process instead of the writer
process `chronobridge serve` uses. `BENCH_WORKER=1` runs the embedded worker too, as plain
`chronobridge serve` does: every delivery is then dispatched and processed by DBOS in this
process, with an applier that fetches nothing (each ends `duplicate`), so the figures include
the job machinery's CPU but no DrChrono calls.
"""

from __future__ import annotations

import os
import sys

import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from chronobridge.ingress import Processing, SignatureMode
from chronobridge.ingress import Route as EventRoute
from chronobridge.store import KeyRing, StoredDelivery, open_database
from chronobridge.web import ServeOptions, create_app
from chronobridge.workers import Database as JobsDatabase
from chronobridge.workers import WorkerConfig

OK = b'{"status":"ok"}'


HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(OK))]


class BareEndpoint:
    """`return 200` as an ASGI app: what the webhook's endpoint is, minus the webhook."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": OK})


async def bare_route(_request: Request) -> Response:
    return Response(OK, media_type="application/json")


async def _apply_nothing(delivery: StoredDelivery, route: EventRoute) -> int:
    return 0


def _worker(database_url: str, keys: KeyRing) -> dict[str, object]:
    """The embedded worker's options (`BENCH_WORKER=1`), or none."""
    if os.environ.get("BENCH_WORKER") != "1":
        return {}

    async def processing() -> Processing:
        return Processing(db=await open_database(database_url, keys=keys), apply=_apply_nothing)

    worker = WorkerConfig(
        database=JobsDatabase.parse(database_url),
        cipher=keys,
        executor_id="bench",
        polling_interval_sec=0.2,
        shutdown_timeout_sec=0,
    )
    return {"worker": worker, "processing": processing}


def app(database_url: str, keys: KeyRing) -> FastAPI:
    options = ServeOptions(
        database_url=database_url,
        keys=keys,
        signature_mode=SignatureMode.ANY,
        sweep=False,
        writer_process=os.environ.get("BENCH_WRITER", "process") == "process",
        freeze_gc=True,
        **_worker(database_url, keys),  # type: ignore[arg-type]
    )
    served = create_app(options)
    # Right after the webhook's routes: matched after the same number of misses.
    routes = served.router.routes
    last_webhook = max(
        i for i, r in enumerate(routes) if getattr(r, "path", "").startswith("/webhooks")
    )
    routes[last_webhook + 1 : last_webhook + 1] = [
        Route("/bare", BareEndpoint(), methods=["POST"], include_in_schema=False),
        Route("/bare-route", bare_route, methods=["POST"], include_in_schema=False),
    ]

    @served.post("/bare-di")
    async def bare_di() -> Response:
        return Response(OK, media_type="application/json")

    return served


def main(port: str, database_url: str) -> None:
    keys = KeyRing(os.environ["CHRONOBRIDGE_ENCRYPTION_KEYS"].split(","))
    config = uvicorn.Config(
        app(database_url, keys),
        host="127.0.0.1",
        port=int(port),
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    original = server.startup

    async def startup(sockets: object = None) -> None:
        await original(sockets)  # type: ignore[arg-type]
        print("READY", flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run()


if __name__ == "__main__":
    main(*sys.argv[1:])
