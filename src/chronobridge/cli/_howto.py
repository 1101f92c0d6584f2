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


def demo(config: EmulatorConfig) -> list[str]:
    redirect = config.redirect_uris[0]
    url = config.url
    return [
        "",
        "chronobridge demo: a DrChrono emulator with a seeded practice and live churn",
        f"({config.churn:g} staff changes a minute). The hub joins this demo in a later release.",
        "",
        f"  demo client id: {config.client_id}   (its secret is in docs/emulator.md)",
        f"  authorize (approved at once as {config.auto_approve}):",
        f"    {authorize_url(config)}",
        "",
        "  Get a token and call the API without printing the token:",
        "    export CLIENT_SECRET=...   # the demo client's secret, see docs/emulator.md",
        f"    CODE=$(curl -s -o /dev/null -w '%{{redirect_url}}' '{authorize_url(config)}' \\",
        "      | sed -E 's/.*[?&]code=([^&]+).*/\\1/')",
        f"    TOKEN=$(curl -s {url}/o/token/ -d grant_type=authorization_code -d code=$CODE \\",
        f"      -d redirect_uri={redirect} -d client_id={config.client_id} \\",
        "      -d client_secret=$CLIENT_SECRET \\",
        "      | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
        f'    curl -s -L -H "Authorization: Bearer $TOKEN" {url}/api/users/current',
        "",
        "  Control API (unauthenticated, localhost only):",
        f"    curl -s {url}/_emulator/stats",
        f"    curl -s -X POST {url}/_emulator/churn -d '{{\"changes\": 5}}'",
        f"    curl -s -X POST {url}/_emulator/clock -d '{{\"advance\": 3600}}'",
        f'    curl -s -X POST {url}/_emulator/faults -d \'{{"kind": "error", "count": 3}}\'',
        f"  App Directory: {url}/app-directory/",
        "  Ctrl-C stops it.",
    ]
