"""`chronobridge webhooks setup`: what to enter on DrChrono's API page, and, when the
application's DrChrono is the emulator, the registration and its verification handshake."""

from __future__ import annotations

from typing import Annotated

import typer

from chronobridge.cli._common import AppOpt
from chronobridge.cli._errors_out import run
from chronobridge.ingress import (
    WebhookSetup,
    ensure_webhook_secret,
    is_emulator,
    register_with_emulator,
    setup_for,
)
from chronobridge.store import Apps
from chronobridge.wiring import Hub

__all__ = ["setup"]

SIGNATURES = ("secret", "hmac")


def setup(
    *,
    public_url: Annotated[
        str, typer.Option(help="Where DrChrono reaches `chronobridge serve` (scheme, host, port).")
    ] = "http://127.0.0.1:8600",
    app: AppOpt = None,
    show_secret: Annotated[
        bool, typer.Option("--show-secret", help="Print the stored secret to copy it.")
    ] = False,
    register: Annotated[
        bool,
        typer.Option("--register/--no-register", help="Against the emulator: register it now."),
    ] = True,
    signature: Annotated[
        str, typer.Option(help="The emulator's X-drchrono-signature: 'secret' or 'hmac'.")
    ] = "secret",
) -> None:
    """Print the webhook's callback URL, secret and events; register it with the emulator."""
    if signature not in SIGNATURES:
        raise typer.BadParameter("use 'secret' or 'hmac'", param_hint="--signature")

    async def work() -> tuple[WebhookSetup, bool, dict[str, object] | None]:
        async with Hub.open() as hub:
            chosen, created = await ensure_webhook_secret(hub.db, await hub.app(app))
            named = len(await Apps(hub.db).list()) > 1
            plan = setup_for(chosen, public_url, named=named, created=created)
            emulated = await is_emulator(chosen.drchrono_url)
            answer = None
            if emulated and register:
                answer = await register_with_emulator(plan, signature=signature)
            return plan, emulated, answer

    plan, emulated, answer = run(work)
    _print_plan(plan, show_secret=show_secret)
    if emulated and answer is None:
        typer.echo("\nThe application's DrChrono is the emulator: run again with --register.")
    if answer is not None:
        _print_registration(answer)


def _print_plan(plan: WebhookSetup, *, show_secret: bool) -> None:
    app = plan.app
    typer.echo(f"Application {app.name} (client id {app.client_id}), DrChrono {app.drchrono_url}")
    typer.echo("On DrChrono's API page (Account > API > your application > Webhooks) enter:\n")
    typer.echo(f"  Callback URL  {plan.callback_url}")
    if plan.secret_created or show_secret:
        note = " (new: copy it now; it is stored encrypted)" if plan.secret_created else ""
        typer.echo(f"  Secret token  {app.webhook_secret}{note}")
    else:
        typer.echo("  Secret token  the application's webhook secret (--show-secret prints it)")
    typer.echo(f"  Events        all {len(plan.events)}:")
    for start in range(0, len(plan.events), 3):
        typer.echo("                " + ", ".join(plan.events[start : start + 3]))
    typer.echo(
        "\nThen press Verify: DrChrono sends GET <callback>?msg=..., which chronobridge serve "
        "answers with the HMAC of msg. Deliveries are accepted signed with the secret itself "
        "(as DrChrono documents) or with an HMAC of the body (serve --webhook-signature)."
    )
    if plan.secret_created:
        typer.echo(
            "If this application comes from CHRONOBRIDGE_CLIENT_ID, also set "
            "CHRONOBRIDGE_WEBHOOK_SECRET to this secret so restarts keep it."
        )


def _print_registration(answer: dict[str, object]) -> None:
    verification = answer.get("verification")
    reason = verification.get("reason") if isinstance(verification, dict) else None
    if answer.get("verified"):
        typer.echo("\nRegistered with the emulator and verified: deliveries start now.")
        return
    typer.echo(f"\nRegistered with the emulator, NOT verified ({reason or 'no answer'}).")
    typer.echo(
        "Start chronobridge serve at that URL; the emulator verifies again on the next setup."
    )
