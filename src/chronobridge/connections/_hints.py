"""Which command fixes an application's setting: the environment variable, or `apps update`.

The application the environment describes (`CHRONOBRIDGE_CLIENT_ID` and friends) is registered
again from the environment by every command, so what the environment sets is fixed there; an
application registered with `chronobridge apps add` is fixed with `chronobridge apps update`.
Errors that name a setting to fix say which, for the application at hand.
"""

from __future__ import annotations

from chronobridge.connections._services import Services
from chronobridge.store import App

__all__ = ["ENVIRONMENT_APP", "ENVIRONMENT_FIELDS", "from_environment", "setting_hint"]

ENVIRONMENT_APP = "default"  # the name the environment's application is registered under
# What the environment describes of its application (the rest is the store's: `apps update`).
ENVIRONMENT_FIELDS: dict[str, str] = {
    "client_id": "CHRONOBRIDGE_CLIENT_ID",
    "client_secret": "CHRONOBRIDGE_CLIENT_SECRET",
    "redirect_uris": "CHRONOBRIDGE_REDIRECT_URI",
    "scopes": "CHRONOBRIDGE_SCOPES",
    "api_version": "CHRONOBRIDGE_API_VERSION",
    "drchrono_url": "CHRONOBRIDGE_DRCHRONO_URL",
}
OPTIONS: dict[str, str] = {
    "client_secret": "--client-secret",
    "redirect_uris": "--redirect-uri",
    "scopes": "--scopes",
    "api_version": "--api-version",
    "drchrono_url": "--drchrono-url",
    "webhook_secret": "--webhook-secret",
}


def from_environment(services: Services, app: App) -> bool:
    """Whether the environment describes this application (else `apps add` registered it)."""
    if services.environment_client_id is not None:
        return app.client_id == services.environment_client_id
    return app.name == ENVIRONMENT_APP


def setting_hint(services: Services, app: App, field: str, *, value: str = "VALUE") -> str:
    """Where to fix one setting of `app`: its environment variable or `apps update`."""
    if from_environment(services, app) and field in ENVIRONMENT_FIELDS:
        return f"set {ENVIRONMENT_FIELDS[field]}"
    if field == "client_id":
        return (
            f"run chronobridge apps remove {app.name}, then chronobridge apps add with the "
            "right --client-id"
        )
    return f"run chronobridge apps update {app.name} {OPTIONS.get(field, '--' + field)} {value}"
