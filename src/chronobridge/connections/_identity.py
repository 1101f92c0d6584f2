"""Who authorized: DrChrono's /api/users/current (a 302 to /api/users/{id}, which the client
follows on the same origin). A doctor acts for themselves; a staff member for the provider in
their `doctor` field. Nothing else of the answer is kept."""

from __future__ import annotations

from typing import Any

from chronobridge.connections._clients import user_client
from chronobridge.connections._services import Services
from chronobridge.errors import UnexpectedResponse
from chronobridge.store import App, Identity, Role

__all__ = ["fetch_identity", "identity_from"]

CURRENT_USER = "users_current"


async def fetch_identity(services: Services, app: App, access_token: str) -> Identity:
    async with user_client(services, app, access_token) as client:
        body = await client.call(CURRENT_USER)
    return identity_from(body)


def identity_from(body: Any) -> Identity:
    """The identity in a /api/users/{id} answer; UnexpectedResponse when a field is missing."""
    if not isinstance(body, dict):
        raise _unexpected()
    user_id, doctor = _integer(body, "id"), _integer(body, "doctor")
    username, is_doctor = body.get("username"), body.get("is_doctor")
    if user_id is None or doctor is None or not isinstance(is_doctor, bool):
        raise _unexpected()
    if not isinstance(username, str) or not username:
        raise _unexpected()
    return Identity(
        drchrono_user_id=user_id,
        username=username[:200],
        role=Role.DOCTOR if is_doctor else Role.STAFF,
        doctor_id=doctor,
        practice_group=_integer(body, "practice_group"),
        display_name=username[:200],
    )


def _integer(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _unexpected() -> UnexpectedResponse:
    return UnexpectedResponse(
        "DrChrono's current-user answer lacks the user's id, role or provider",
        method="GET",
        path="/api/users/current",
        status=200,
    )
