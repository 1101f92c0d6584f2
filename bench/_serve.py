"""A server process for benchmarks: the emulator, or a bare Starlette app answering one fixed
JSON page (the baselines). Prints `READY <token>` once listening.

    python -m bench._serve emulator PORT PATIENTS
    python -m bench._serve emulator-unrendered PORT PATIENTS   # nothing rendered at seed time
    python -m bench._serve json PORT PAYLOAD_FILE    # JSONResponse: encodes the page per request
    python -m bench._serve bytes PORT PAYLOAD_FILE   # the page's bytes, encoded once
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chronobridge.catalog import SCOPES
from chronobridge.emulator import EmulatorConfig, create_app


def emulator(patients: int, *, prerender: bool = True) -> tuple[Starlette, str]:
    extra = {} if prerender else {"prerender": "0"}
    config = EmulatorConfig(patients=patients, appointments=0, rate_limit=10**9, extra=extra)
    app = create_app(config)
    state = app.state.emulator
    user = state.user_by_name("doctor1")
    issued = state.issue_token(
        client_id=state.config.client_id, user_id=user.id, scopes=frozenset(SCOPES)
    )
    return app, issued.access_token


def baseline(payload_file: str, *, encode: bool) -> tuple[Starlette, str]:
    raw = Path(payload_file).read_bytes()
    payload = json.loads(raw)

    async def page(_request: Request) -> Response:
        if encode:
            return JSONResponse(payload)
        return Response(raw, media_type="application/json")

    return Starlette(routes=[Route("/api/patients", page)]), "-"


def main(kind: str, port: str, argument: str) -> None:
    if kind.startswith("emulator"):
        app, token = emulator(int(argument), prerender=kind == "emulator")
    else:
        app, token = baseline(argument, encode=kind == "json")
    config = uvicorn.Config(app, host="127.0.0.1", port=int(port), log_level="warning")
    server = uvicorn.Server(config)
    original = server.startup

    async def startup(sockets: object = None) -> None:
        await original(sockets)  # type: ignore[arg-type]
        print(f"READY {token}", flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run()


if __name__ == "__main__":
    main(*sys.argv[1:4])
