"""The hub's web app for the ingress benchmark, plus a bare `return 200` route in the same
app (same middleware, same server): prints `READY` once listening.

    python -m bench._webhooks_server PORT DATABASE_URL   (keys in CHRONOBRIDGE_ENCRYPTION_KEYS)
"""

from __future__ import annotations

import os
import sys

import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response

from chronobridge.ingress import SignatureMode
from chronobridge.store import KeyRing
from chronobridge.web import ServeOptions, create_app


def app(database_url: str, keys: KeyRing) -> FastAPI:
    options = ServeOptions(
        database_url=database_url,
        keys=keys,
        signature_mode=SignatureMode.ANY,
        sweep=False,
        freeze_gc=True,
    )
    served = create_app(options)

    @served.post("/bare")
    async def bare() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

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
