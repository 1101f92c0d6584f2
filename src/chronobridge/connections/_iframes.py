"""iframe registration for a provider (POST/DELETE /api/iframe_integration with the provider's
token) and the hub's mirror of it, which deauthorization keeps in step with DrChrono."""

from __future__ import annotations

from chronobridge.connections._clients import ensure_active, open_client
from chronobridge.connections._services import Services
from chronobridge.errors import InvalidRequest
from chronobridge.store import Connection, IframeRegistration, IframeRegistrations, Role

__all__ = ["register_iframe", "unregister_iframe"]


async def register_iframe(services: Services, connection_id: int) -> IframeRegistration:
    """Enable the application's iframes in the provider's charts; mirror the registration."""
    connection = await _provider(services, connection_id)
    async with await open_client(services, connection) as client:
        await client.call("iframe_integration_create")
    return await IframeRegistrations(services.db).register(
        connection.app_id, connection.doctor_id, connection_id=connection.id, now=services.now()
    )


async def unregister_iframe(services: Services, connection_id: int) -> bool:
    connection = await _provider(services, connection_id)
    async with await open_client(services, connection) as client:
        await client.call("iframe_integration_delete")
    return await IframeRegistrations(services.db).remove(connection.app_id, connection.doctor_id)


async def _provider(services: Services, connection_id: int) -> Connection:
    connection = await ensure_active(services, connection_id)
    if connection.role is not Role.DOCTOR:
        raise InvalidRequest(
            "Only a provider's connection can register the application's iframes",
            hint="Use the connection of the provider (chronobridge connections list).",
        )
    return connection
