"""Deadlines on one timer: every wait still running when its deadline passes expires, once, in
the order the waits started; a wait that ended never expires and is forgotten."""

from __future__ import annotations

import asyncio

from chronobridge.ingress import Deadlines


class Wait:
    def __init__(self, name: str) -> None:
        self.name = name
        self.ended = False


async def test_waits_still_running_expire_in_order_and_once() -> None:
    expired: list[str] = []
    group_done = asyncio.Event()

    def expire(wait: Wait) -> None:
        expired.append(wait.name)
        wait.ended = True
        if len(expired) % 2 == 0:
            group_done.set()

    deadlines: Deadlines[Wait] = Deadlines(0.02, expire=expire, done=lambda wait: wait.ended)
    waits = [Wait(f"w{n}") for n in range(6)]
    for wait in waits[:3]:
        deadlines.add(wait)
    waits[1].ended = True  # answered in time
    await asyncio.wait_for(group_done.wait(), 30)
    group_done.clear()
    for wait in waits[3:]:  # a later group: the timer is armed again
        deadlines.add(wait)
    waits[4].ended = True
    await asyncio.wait_for(group_done.wait(), 30)
    await asyncio.sleep(0.05)  # nothing expires twice
    assert expired == ["w0", "w2", "w3", "w5"]
    assert len(deadlines) == 0


async def test_ended_waits_are_dropped_as_new_ones_arrive() -> None:
    deadlines: Deadlines[Wait] = Deadlines(3600.0, expire=lambda _: None, done=lambda w: w.ended)
    for n in range(1000):
        wait = Wait(str(n))
        deadlines.add(wait)
        wait.ended = True
    assert len(deadlines) == 1  # only the last one, still counted until the next add
    deadlines.close()
    assert len(deadlines) == 0
