"""The budget is reserved before every call and parked on 429; the observer sees every call."""

from __future__ import annotations

from datetime import timedelta

import httpx2
import pytest
from client_fakes import ok, rig

from chronobridge.client import (
    Budget,
    CallObserver,
    CallRecord,
    DrChronoClient,
    MemoryBudget,
    MemoryObserver,
    MemoryTokenSource,
    Priority,
    TokenSource,
)
from chronobridge.errors import BudgetExhausted, RateLimited

THROTTLED = {"detail": "Request was throttled. Expected available in 2295.0 seconds."}


def test_memory_implementations_satisfy_the_ports() -> None:
    assert isinstance(MemoryTokenSource("t"), TokenSource)
    assert isinstance(MemoryBudget(), Budget)
    assert isinstance(MemoryObserver(), CallObserver)


async def test_every_call_reserves_at_the_client_priority() -> None:
    r = rig(lambda request: ok({"id": 1}))
    await r.client.patients.get(1)
    poller = r.client.with_options(priority=Priority.POLL)
    await poller.patients.get(2)
    await poller.patients.get(3)
    assert r.budget.reserved == {Priority.INTERACTIVE: 1, Priority.POLL: 2}
    assert [c.priority for c in r.observer.calls] == [
        Priority.INTERACTIVE,
        Priority.POLL,
        Priority.POLL,
    ]
    assert r.client.options.priority is Priority.INTERACTIVE


async def test_a_429_parks_the_application_and_is_not_retried() -> None:
    r = rig(lambda request: ok(THROTTLED, 429))
    with pytest.raises(RateLimited) as caught:
        await r.client.patients.get(1)
    assert caught.value.retry_after == 2295.0
    assert r.budget.parked_until == r.time.now + timedelta(seconds=2295)
    assert len(r.requests) == 1


async def test_an_exhausted_budget_sends_nothing() -> None:
    r = rig(lambda request: ok({"id": 1}), budget=MemoryBudget(limit=1))
    await r.client.patients.get(1)
    with pytest.raises(BudgetExhausted) as caught:
        await r.client.patients.get(2)
    assert len(r.requests) == 1
    assert caught.value.resume_at.minute == 0


async def test_the_observer_gets_templates_sizes_and_request_ids_but_no_values() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return ok(
            {"previous": None, "results": [{"id": 1}], "next": None}, **{"X-Request-ID": "req-42"}
        )

    r = rig(handler)
    _ = [p async for p in r.client.patients.list(last_name="Canaryfield")]
    (call,) = r.observer.calls
    assert isinstance(call, CallRecord)
    assert (call.method, call.path, call.status) == ("GET", "/api/patients", 200)
    assert call.operation == "patients_list"
    assert call.request_id == "req-42"
    assert call.bytes_in == len(b'{"previous":null,"results":[{"id":1}],"next":null}')
    assert call.bytes_out == 0
    assert call.duration_ms >= 0
    assert call.started_at == r.time.now
    assert "Canaryfield" not in repr(call)


async def test_a_failing_observer_does_not_change_the_outcome(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken:
        async def observe(self, call: CallRecord) -> None:
            raise RuntimeError("disk full")

    client = DrChronoClient(
        tokens=MemoryTokenSource("t"),
        transport=httpx2.MockTransport(lambda request: ok({"id": 1})),
        observer=Broken(),
    )
    async with client:
        assert await client.patients.get(1) == {"id": 1}
    assert "The call observer failed: RuntimeError" in caplog.text
