"""`chronobridge emulator`: the DrChrono emulator on a real socket."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal

import typer
import uvicorn

from chronobridge.cli import _howto
from chronobridge.emulator import EmulatorConfig, create_app
from chronobridge.emulator._config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REDIRECT_URI,
)
from chronobridge.emulator._faults import FaultError, parse_cli_faults
from chronobridge.emulator._webhooks import parse_events

SECRET_ENV = "CHRONOBRIDGE_EMULATOR_CLIENT_SECRET"  # noqa: S105 - a variable name
WEBHOOK_SECRET_ENV = "CHRONOBRIDGE_EMULATOR_WEBHOOK_SECRET"  # noqa: S105 - a variable name


def register(app: typer.Typer) -> None:
    app.command("emulator")(emulator)


def emulator(
    *,
    host: Annotated[str, typer.Option(help="Address to bind; keep it local.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8700,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data and churn.")] = 1,
    patients: Annotated[int, typer.Option(help="Seeded patients.")] = 200,
    client_id: Annotated[
        str, typer.Option(help="The default app's client id.")
    ] = DEFAULT_CLIENT_ID,
    client_secret: Annotated[
        str,
        typer.Option(envvar=SECRET_ENV, show_default=False, help="The default app's secret."),
    ] = DEFAULT_CLIENT_SECRET,
    redirect_uri: Annotated[
        list[str] | None, typer.Option(help="Registered redirect URI (repeatable).")
    ] = None,
    rate_limit: Annotated[int, typer.Option(help="Calls per hour per application.")] = 500,
    webhook_url: Annotated[str | None, typer.Option(help="The default app's webhook.")] = None,
    webhook_secret: Annotated[
        str | None, typer.Option(envvar=WEBHOOK_SECRET_ENV, show_default=False)
    ] = None,
    webhook_events: Annotated[str, typer.Option(help="all, or NAME,NAME,...")] = "all",
    webhook_signature: Annotated[
        str, typer.Option(help="X-drchrono-signature: 'secret' (as documented) or 'hmac'.")
    ] = "secret",
    private: Annotated[bool, typer.Option(help="PRIVATE app: its practice only.")] = False,
    auto_approve: Annotated[
        str | None, typer.Option(help="Approve every /o/authorize/ as this user.")
    ] = None,
    state_file: Annotated[Path | None, typer.Option(help="Keep the data across restarts.")] = None,
    churn: Annotated[float, typer.Option(help="Random staff changes per minute.")] = 0.0,
    fault: Annotated[
        list[str] | None, typer.Option(help="Start with a fault: KIND:COUNT[:ARG] (repeatable).")
    ] = None,
) -> None:
    """Run the DrChrono emulator: API, OAuth, webhooks, iframes, faults and control API."""
    config = EmulatorConfig(
        host=host,
        port=port,
        seed=seed,
        patients=patients,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uris=tuple(redirect_uri or (DEFAULT_REDIRECT_URI,)),
        rate_limit=rate_limit,
        private=private,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        webhook_events=_events(webhook_events),
        webhook_signature=_signature(webhook_signature),
        auto_approve=auto_approve,
        state_file=state_file,
        churn=churn,
        extra={"faults": _faults(fault or [])},
    )
    _check(config)
    serve(config, howto=_howto.emulator(config))


def serve(config: EmulatorConfig, *, howto: list[str]) -> None:
    """Run until SIGINT/SIGTERM; print the ready line once the socket accepts connections."""
    server = _Server(
        uvicorn.Config(
            create_app(config),
            host=config.host,
            port=config.port,
            log_level="warning",
            lifespan="on",
        )
    )
    code = asyncio.run(_run(server, config, howto))
    raise typer.Exit(code)


async def _run(server: _Server, config: EmulatorConfig, howto: list[str]) -> int:
    task = asyncio.create_task(server.serve())
    while not server.started:
        finished, _ = await asyncio.wait({task}, timeout=0.02)
        if finished:
            break
    if not server.started:
        with contextlib.suppress(SystemExit, Exception):
            await task
        typer.echo(f"emulator could not listen on {config.url}", err=True)
        return 1
    typer.echo(f"emulator listening on http://{config.host}:{config.port}")
    typer.echo("\n".join(howto))
    sys.stdout.flush()
    await task
    typer.echo("emulator stopped")
    return 0


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGINT/SIGTERM after shutting down; we end with exit code 0 instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def _check(config: EmulatorConfig) -> None:
    if config.webhook_url and not config.webhook_secret:
        raise typer.BadParameter("--webhook-url needs --webhook-secret", param_hint="--webhook-url")
    if config.auto_approve and not _known_user(config.auto_approve):
        raise typer.BadParameter(
            f"no seeded user {config.auto_approve!r}", param_hint="--auto-approve"
        )


def _known_user(username: str) -> bool:
    from chronobridge.emulator._seed import DOCTORS, STAFF

    return username in {d.username for d in DOCTORS} | {s.username for s in STAFF}


def _events(value: str) -> tuple[str, ...]:
    try:
        parsed = parse_events(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--webhook-events") from None
    return ("all",) if parsed is None else tuple(sorted(parsed))


def _signature(value: str) -> Literal["secret", "hmac"]:
    if value == "secret":
        return "secret"
    if value == "hmac":
        return "hmac"
    raise typer.BadParameter("use 'secret' or 'hmac'", param_hint="--webhook-signature")


def _faults(items: list[str]) -> str:
    text = ";".join(items)
    try:
        parse_cli_faults(text)
    except (FaultError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--fault") from None
    return text
