"""The default app follows the environment, but keeps what the operator set in the hub."""

from __future__ import annotations

from pathlib import Path

from chronobridge.ingress import ensure_webhook_secret
from chronobridge.settings import Settings
from chronobridge.wiring import Hub


def settings_for(home: Path, **extra: str) -> Settings:
    return Settings(
        home=home,
        client_id="demo-client-id",
        client_secret="demo-client-secret-not-for-production",
        drchrono_url="http://127.0.0.1:8700",
        **extra,  # type: ignore[arg-type]
    )


async def test_a_secret_made_by_webhooks_setup_survives_the_next_command(tmp_path: Path) -> None:
    async with Hub.open(settings_for(tmp_path)) as hub:
        app = await hub.default_app()
        assert app is not None
        assert app.webhook_secret is None
        made, created = await ensure_webhook_secret(hub.db, app)
        assert created
    async with Hub.open(settings_for(tmp_path)) as hub:
        again = await hub.default_app()
        assert again is not None
        assert again.webhook_secret == made.webhook_secret


async def test_a_secret_in_the_environment_wins(tmp_path: Path) -> None:
    async with Hub.open(settings_for(tmp_path)) as hub:
        app = await hub.default_app()
        assert app is not None
        await ensure_webhook_secret(hub.db, app)
    async with Hub.open(settings_for(tmp_path, webhook_secret="from-the-environment")) as hub:
        again = await hub.default_app()
        assert again is not None
        assert again.webhook_secret == "from-the-environment"
