"""What `chronobridge emulator` and `chronobridge demo` print once they listen.

Never a token or a secret: the only credential printed is the documented demo client id.
"""

from __future__ import annotations

from urllib.parse import urlencode

from chronobridge.emulator import EmulatorConfig


def authorize_url(config: EmulatorConfig) -> str:
    query = urlencode(
        {
            "client_id": config.client_id,
            "redirect_uri": config.redirect_uris[0],
            "response_type": "code",
            "state": "demo",
        }
    )
    return f"{config.url}/o/authorize/?{query}"


def emulator(config: EmulatorConfig) -> list[str]:
    approve = (
        f"  (--auto-approve: every authorization is approved as {config.auto_approve})"
        if config.auto_approve
        else "  (a consent page lets you pick a seeded user: doctor1, staff1, manager1, ...)"
    )
    return [
        "",
        f"  authorize:    {authorize_url(config)}",
        approve,
        f"  token:        POST {config.url}/o/token/",
        f"  API:          {config.url}/api/users/current (Authorization: Bearer <token>)",
        f"  App Directory {config.url}/app-directory/",
        f"  control API:  {config.url}/_emulator/health, /_emulator/stats, /_emulator/clock",
        "  docs:         docs/emulator.md",
        "  Ctrl-C stops it.",
    ]
