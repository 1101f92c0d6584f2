"""`chronobridge worker`: run jobs until SIGTERM; `worker sweep|failed|retry` manage them."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Annotated

import typer

from chronobridge.cli._sync_common import MappingOpt, load_mapping_file
from chronobridge.errors import HubError
from chronobridge.settings import Settings
from chronobridge.store import KeyRing, load_keyring
from chronobridge.wiring import install_job_contexts, worker_config
from chronobridge.workers import (
    Database,
    Jobs,
    Liveness,
    WorkerRuntime,
    list_failed,
    retry_failed,
    sweep,
)
from chronobridge.workers._tables import create_tables

DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        show_default=False,
        help="Database URL (default: CHRONOBRIDGE_DATABASE_URL, else the SQLite file in home).",
    ),
]


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Run durable jobs (sync, webhooks, deliveries) until stopped.",
        invoke_without_command=True,
        no_args_is_help=False,
    )
    group.callback(invoke_without_command=True)(run)
    group.command("sweep")(sweep_command)
    group.command("failed")(failed_command)
    group.command("retry")(retry_command)
    app.add_typer(group, name="worker")


def run(
    ctx: typer.Context,
    *,
    database_url: DatabaseOpt = None,
    executor_id: Annotated[
        str | None,
        typer.Option(
            envvar="CHRONOBRIDGE_EXECUTOR_ID",
            show_default=False,
            help="Stable, unique name of this worker (e.g. the machine or pod name). Default: "
            "<hostname>-<n>, the lowest slot free on this host.",
        ),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="Most jobs of one queue this worker runs at once.")
    ] = None,
    polling_interval: Annotated[float, typer.Option(help="Seconds between queue polls.")] = 1.0,
    heartbeat_interval: Annotated[float, typer.Option(help="Seconds between heartbeats.")] = 10.0,
    dead_after: Annotated[
        float, typer.Option(help="Seconds of silence after which a worker's jobs are swept.")
    ] = 60.0,
    shutdown_timeout: Annotated[
        int, typer.Option(help="Seconds running jobs get to finish after SIGTERM.")
    ] = 30,
    planner: Annotated[
        bool,
        typer.Option(
            "--planner/--no-planner",
            help="Also run the sync planner's schedule (one tick per interval across workers).",
        ),
    ] = True,
    mapping: MappingOpt = None,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "WARNING",
) -> None:
    """Run jobs until SIGTERM or Ctrl-C (then: claim nothing new, let running jobs finish)."""
    if ctx.invoked_subcommand is not None:
        return
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings()

    def body() -> None:
        keys = _cipher(settings)
        liveness = Liveness(
            heartbeat_interval_sec=heartbeat_interval,
            dead_after_sec=dead_after,
            sweep_interval_sec=max(dead_after / 2, heartbeat_interval),
        )
        config = worker_config(
            settings, keys=keys, database_url=database_url, executor_id=executor_id,
            concurrency=concurrency, polling_interval=polling_interval, planner=planner,
            liveness=liveness, log_level=log_level, shutdown_timeout=shutdown_timeout,
        )  # fmt: skip
        install_job_contexts(settings, mapping=load_mapping_file(mapping))
        _serve(WorkerRuntime(config))

    _guard(body)


def _serve(runtime: WorkerRuntime) -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()
        signal.signal(signum, signal.SIG_DFL)  # a second signal ends the process at once

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    runtime.start()
    queues = ",".join(spec.name for spec in runtime.config.queues)
    typer.echo(
        f"chronobridge worker ready: executor {runtime.executor_id}, queues {queues}, "
        f"database {runtime.config.database.display}",
    )
    while not stop.wait(0.5):
        pass
    typer.echo(
        f"chronobridge worker stopping: no new jobs; running ones get "
        f"{runtime.config.shutdown_timeout_sec} s"
    )
    runtime.stop()
    typer.echo("chronobridge worker stopped")


def sweep_command(
    *,
    database_url: DatabaseOpt = None,
    dead_after: Annotated[
        float, typer.Option(help="Sweep workers silent for this many seconds.")
    ] = 60.0,
    executor: Annotated[
        list[str] | None,
        typer.Option(help="Sweep this executor whatever its heartbeat says (repeatable)."),
    ] = None,
) -> None:
    """Put the unfinished jobs of dead workers back on their queues."""

    def act(jobs: Jobs) -> None:
        engine = jobs.database.create_sync_engine()
        try:
            create_tables(engine)
            result = sweep(
                engine, jobs.client, dead_after_sec=dead_after, executors=tuple(executor or ())
            )
        finally:
            engine.dispose()
        names = ", ".join(result.executors) or "none"
        typer.echo(f"swept {len(result.recovered)} jobs; dead workers: {names}")

    _with_jobs(database_url, act)


def failed_command(
    *,
    database_url: DatabaseOpt = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 50,
) -> None:
    """List jobs that failed for good (newest first)."""

    def act(jobs: Jobs) -> None:
        for job in list_failed(jobs.client, limit=limit):
            when = job.failed_at.isoformat(timespec="seconds") if job.failed_at else "-"
            typer.echo(
                f"{job.workflow_id}\t{job.workflow_name}\t{job.queue or '-'}\t{job.status}\t"
                f"{job.error_class}\tattempts={job.attempts}\t{when}"
            )

    _with_jobs(database_url, act)


def retry_command(
    workflow_id: Annotated[str, typer.Argument(help="The job's workflow id.")],
    *,
    database_url: DatabaseOpt = None,
) -> None:
    """Put a failed job back on its queue (finished steps are not run again)."""

    def act(jobs: Jobs) -> None:
        retry_failed(jobs.client, workflow_id)
        typer.echo(f"retrying {workflow_id}")

    _with_jobs(database_url, act)


def _with_jobs(database_url: str | None, act: Callable[[Jobs], None]) -> None:
    settings = Settings()

    def body() -> None:
        jobs = Jobs(_database(settings, database_url), _cipher(settings))
        try:
            jobs.prepare()  # a fresh database gets DBOS's tables instead of a traceback
            act(jobs)
        finally:
            jobs.close()

    _guard(body)


def _guard(body: Callable[[], None]) -> None:
    try:
        body()
    except HubError as error:
        typer.echo(f"error: {error}\nhint: {error.hint}", err=True)
        sys.exit(1)


def _database(settings: Settings, database_url: str | None) -> Database:
    return Database.parse(database_url or settings.database)


def _cipher(settings: Settings) -> KeyRing:
    """The hub's key ring: CHRONOBRIDGE_ENCRYPTION_KEYS, else the key file in home (created
    on first use), the same keys `serve` uses, so both read each other's jobs."""
    return load_keyring(settings)
