"""`chronobridge serve`: the web app (webhooks, OAuth callback, health, metrics) on uvicorn, with
the worker embedded unless --no-worker (then `chronobridge worker` processes run the jobs)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from enum import StrEnum
from types import FrameType
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI

from chronobridge.cli._errors_out import run
from chronobridge.cli._sync_common import MappingOpt, load_mapping_file
from chronobridge.connections import HubMetrics, Services, offset_clock
from chronobridge.ingress import SignatureMode
from chronobridge.settings import Settings
from chronobridge.store import Database, load_keyring
from chronobridge.web import MIB, ServeOptions, create_app
from chronobridge.wiring import (
    Hub,
    clock_offset,
    environment_client_id,
    install_job_contexts,
    worker_config,
)

__all__ = ["register", "serve"]

SIGNATURE_ENV = "CHRONOBRIDGE_WEBHOOK_SIGNATURE"


class Mode(StrEnum):
    ANY = "any"
    SECRET = "secret"  # noqa: S105  (a mode's name)
    HMAC = "hmac"


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    *,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8600,
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Run jobs in this process too.")
    ] = True,
    signature: Annotated[
        Mode,
        typer.Option(
            "--webhook-signature",
            envvar=SIGNATURE_ENV,
            help="What X-drchrono-signature must carry: the shared secret as DrChrono "
            "documents it ('secret'), an HMAC-SHA256 of the body ('hmac'), or either ('any').",
        ),
    ] = Mode.ANY,
    max_body: Annotated[int, typer.Option(help="Largest webhook body, in bytes.")] = MIB,
    executor_id: Annotated[
        str | None,
        typer.Option(
            envvar="CHRONOBRIDGE_EXECUTOR_ID",
            show_default=False,
            help="Stable, unique name of the embedded worker.",
        ),
    ] = None,
    concurrency: Annotated[int | None, typer.Option(min=1, help="Jobs per queue at once.")] = None,
    polling_interval: Annotated[float, typer.Option(help="Seconds between queue polls.")] = 0.2,
    planner: Annotated[
        bool,
        typer.Option(
            "--planner/--no-planner",
            help="With the worker: also run the sync planner (incremental polls and deletion "
            "passes on their schedule: the standing reconciliation behind the webhooks).",
        ),
    ] = True,
    mapping: MappingOpt = None,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "WARNING",
) -> None:
    """Serve the hub: webhooks at /webhooks/drchrono, /oauth/callback, /healthz, /metrics."""
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings()
    run(lambda: _register_default_app(settings))
    keys = load_keyring(settings)
    metrics = HubMetrics()
    clock = offset_clock(clock_offset())
    compiled = load_mapping_file(mapping)
    processing = install_job_contexts(settings, mapping=compiled, metrics=metrics, clock=clock)
    config = None
    if worker:
        config = worker_config(
            settings, keys=keys, executor_id=executor_id, concurrency=concurrency,
            polling_interval=polling_interval, planner=planner, log_level=log_level,
        )  # fmt: skip
    options = ServeOptions(
        database_url=settings.database,
        keys=keys,
        signature_mode=SignatureMode(signature.value),
        max_body=max_body,
        default_client_id=settings.client_id,
        worker=config,
        processing=processing,
        services=lambda db: _services(db, metrics, settings),
        metrics=metrics.exposition,
        writer_process=True,
        freeze_gc=True,
    )
    _run(create_app(options), host=host, port=port, log_level=log_level, worker=worker)


async def _register_default_app(settings: Settings) -> None:
    """The environment's application (with its webhook secret) is in the store before the
    first delivery arrives."""
    async with Hub.open(settings) as hub:
        await hub.default_app()


def _services(db: Database, metrics: HubMetrics, settings: Settings) -> Services:
    return Services(
        db=db, clock=offset_clock(clock_offset()), metrics=metrics,
        environment_client_id=environment_client_id(settings),
    )  # fmt: skip


def _run(app: FastAPI, *, host: str, port: int, log_level: str, worker: bool) -> None:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,  # it prints query strings; chronobridge.web.access logs paths only
        log_level=log_level.lower(),
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    announce = threading.Thread(
        target=_announce, args=(server, host, port), kwargs={"worker": worker}, daemon=True
    )
    announce.start()
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then raises the signal again against the
    # handlers it found; these let the process end with 0 after a graceful stop.
    for handled in (signal.SIGTERM, signal.SIGINT):
        signal.signal(handled, _stopped)
    server.run()
    typer.echo("chronobridge serve stopped")


def _stopped(signum: int, frame: FrameType | None) -> None:
    """The signal uvicorn raises again after its graceful shutdown: nothing left to do."""


def _announce(server: uvicorn.Server, host: str, port: int, *, worker: bool) -> None:
    """One line once the socket accepts connections (scripts wait for it)."""
    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.02)
    base = f"http://{host}:{port}"
    mode = "embedded" if worker else "off (chronobridge worker runs the jobs)"
    typer.echo(f"chronobridge serve listening on {base} (webhooks {base}/webhooks/drchrono, "
               f"worker {mode})")  # fmt: skip
