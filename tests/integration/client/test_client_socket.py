"""The client over a real socket (uvicorn in a thread): the default transport, real logs."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from client_emulated import Emulated

from chronobridge.client import DrChronoClient, MemoryObserver, MemoryTokenSource
from support.servers import running_server


async def test_lists_redirects_and_batches_over_the_wire_without_leaking(
    make_emulator: Callable[..., Emulated], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator = make_emulator(patients=260)
    observer = MemoryObserver()
    with running_server(emulator.app) as url:
        client = DrChronoClient(
            tokens=MemoryTokenSource(emulator.access_token),
            base_url=url,
            observer=observer,
            sleep=emulator.sleep,
        )
        async with client:
            names = {p["last_name"] async for p in client.patients.list(gender="Female")}
            me = await client.resource("users").action("current")
            batch = [p async for p in client.patients.batch(page_size=100)]
    assert me["id"] == emulator.user_id
    assert len(batch) == 260
    assert {c.path for c in observer.calls} == {
        "/api/patients", "/api/users/current", "/api/users/{id}", "/api/patients_list",
    }  # fmt: skip
    assert caplog.records, "the HTTP libraries logged nothing to check"
    logged = caplog.text
    assert emulator.access_token not in logged
    assert "gender=Female" not in logged
    assert "uuid=" not in logged
    assert not [n for n in names if n and f" {n}" in logged]
