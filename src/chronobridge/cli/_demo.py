"""`chronobridge demo`: the whole hub against a seeded DrChrono emulator, on this machine.

1. the emulator (synthetic practice, simulated staff changing records, webhooks to the hub);
2. the hub's server (webhook ingress, OAuth callback, embedded worker with the sync planner);
3. doctor1 connects through the real OAuth flow (the emulator approves unattended);
4. a backfill of every resource, with progress bars;
5. the live feed: each change as it reaches the store, and whether a webhook or a poll brought
   it, until Ctrl-C (or --duration seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import httpx2
import typer

from chronobridge.cli._common import OutputFormat
from chronobridge.cli._demo_feed import Feed
from chronobridge.cli._demo_stack import DemoPlan, prepare_home, running
from chronobridge.cli._errors_out import EXIT_INTERRUPTED, run
from chronobridge.cli._sync import print_reports, run_resources
from chronobridge.cli._sync_common import sync_session
from chronobridge.cli._sync_progress import SyncBars
from chronobridge.connections import complete_authorization, probe_authorization
from chronobridge.connections import start_authorization as start
from chronobridge.emulator import EmulatorConfig
from chronobridge.errors import OAuthError
from chronobridge.store import ChangeEvents
from chronobridge.wiring import Hub

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    *,
    home: Annotated[
        Path, typer.Option(help="The demo's data folder (emptied at each start).")
    ] = Path(".chronobridge/demo"),
    port: Annotated[int, typer.Option(help="The hub's port.")] = 8600,
    emulator_port: Annotated[int, typer.Option(help="The emulator's port.")] = 8700,
    patients: Annotated[int, typer.Option(min=1, help="Synthetic patients.")] = 300,
    churn: Annotated[float, typer.Option(help="Changes per minute by simulated staff.")] = 12.0,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic practice.")] = 1,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds of live feed.")
    ] = None,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the previous demo's data.")] = False,
) -> None:
    """Run the hub against a seeded DrChrono emulator: connect, backfill, then live changes."""
    plan = DemoPlan(home=home.resolve(), emulator_port=emulator_port, port=port,
                    patients=patients, churn=churn, seed=seed)  # fmt: skip
    run(lambda: _prepare(plan, keep=keep))
    with _terminated_on_sigterm(), running(plan) as started:
        os.environ.update(started.environment())
        _say(
            f"1/5 emulator  {started.emulator_url}  ({patients} synthetic patients, "
            f"{churn:g} changes a minute by simulated staff; log {home / 'emulator.log'})"
        )
        _say(f"2/5 hub       {started.hub_url}  (webhooks at /webhooks/drchrono, embedded "
             f"worker; log {home / 'serve.log'})")  # fmt: skip
        run(_connect)
        _say("4/5 backfill  every resource DrChrono lets the hub list")
        run(_backfill)
        feed = Feed(emulator_url=started.emulator_url, client_id=EmulatorConfig().client_id)
        _live(duration, feed)
        _finish(started, feed)


def _live(duration: float | None, feed: Feed) -> None:
    """The feed until Ctrl-C or SIGTERM, however early the signal lands (even on this line)."""
    try:
        _say("5/5 live      each change as it reaches the store (Ctrl-C to stop)")
        run(lambda: _feed(duration, feed))
    except KeyboardInterrupt:  # arrived outside run(), which turns it into Exit(130)
        pass
    except typer.Exit as ended:
        if ended.exit_code != EXIT_INTERRUPTED:  # Ctrl-C is how the feed normally ends
            raise


async def _prepare(plan: DemoPlan, *, keep: bool) -> None:
    prepare_home(plan.home, keep=keep)


async def _connect() -> None:
    async with Hub.open() as hub:
        app = await hub.app()
        started = await start(hub.services, app)
        probe = await probe_authorization(hub.services, started)
        if probe.callback is None:
            raise OAuthError("The emulator did not approve the demo user at once")
        connection = await complete_authorization(hub.services, probe.callback)
    _say(f"3/5 connect   {connection.username} ({connection.role.value}) authorized the hub "
         "through OAuth")  # fmt: skip


async def _backfill() -> None:
    async with sync_session(None, None) as session:
        with SyncBars() as bars:
            reports = await run_resources(session.engine, session.app.id, None, "auto", bars)
    print_reports(reports, OutputFormat.TABLE)


async def _feed(duration: float | None, feed: Feed) -> None:
    """Print the change events as they arrive (`feed` keeps the counts across an interrupt)."""
    deadline = None if duration is None else time.monotonic() + duration
    async with Hub.open() as hub, httpx2.AsyncClient(timeout=5) as http:
        app = await hub.app()
        events = ChangeEvents(hub.db)
        seen = max((e.id for e in await events.after(app_id=app.id, limit=100_000)), default=0)
        while deadline is None or time.monotonic() < deadline:
            for event in await events.after(app_id=app.id, after_id=seen):
                seen = event.id
                _say(await feed.line(http, event))
            await asyncio.sleep(0.5)


def _finish(plan: DemoPlan, feed: Feed) -> None:
    _say("\n" + feed.summary())
    _say("The data stays in the demo folder; look at it with, for example:")
    _say(f"  CHRONOBRIDGE_HOME={plan.home} chronobridge store list patients --format json")
    _say(f"  CHRONOBRIDGE_HOME={plan.home} chronobridge webhooks log")


@contextlib.contextmanager
def _terminated_on_sigterm() -> Iterator[None]:
    """SIGTERM ends the demo like Ctrl-C: the emulator and the server are stopped cleanly."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _say(text: str) -> None:
    typer.echo(text)
