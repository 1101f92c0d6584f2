"""Every one of DrChrono's 27 webhook events processed end to end: the change is made in the
emulator (in process), a correctly signed delivery announces it, and the job ends `done` with
the record stored (or its deletion recorded) and a change event of the event's kind, after a
read of the object at the budget's webhook priority (the API log records the priority).

One hub and one emulator serve the whole module; each event works on a record of its own.
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chronobridge.catalog import CATALOG
from chronobridge.ingress import Action, route
from chronobridge.store import KeyRing
from support.ingress import HOOK, signed_headers
from support.webhook_stack import Stack, webhook_stack

EVENTS = [event.name for event in CATALOG.events if event.change != "ping"]
FINAL = "status IN ('done', 'duplicate', 'failed')"


def test_the_catalog_has_the_27_events() -> None:
    assert len(EVENTS) == 27


@pytest.fixture(scope="module")
def stack(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    path = tmp_path_factory.mktemp("every-event") / "hub.sqlite"
    shutil.copyfile(sqlite_template, path)
    keyring = KeyRing.generate()
    with webhook_stack(f"sqlite+aiosqlite:///{path}", keyring, register=False) as found:
        found.extra["deliveries"] = itertools.count(1)
        yield found


def _new_record(stack: Stack, resource: str) -> int:
    """A new record of `resource` for doctor1 (a copy of one of the practice's), made in the
    emulator's own state: no webhook goes out for it (no registration), ours will."""
    state = stack.emulator_state
    doctor1 = state.user_by_name("doctor1")
    table = state.records.table(resource)
    ours = [i for i in table.rows if table.meta[i].practice == doctor1.practice_group]
    own = [i for i in ours if table.rows[i].get("doctor") == doctor1.doctor]
    template = table.rows[(own or ours)[0]]
    fields = {key: value for key, value in template.items() if key != "id"}
    if "doctor" in fields:
        fields["doctor"] = doctor1.doctor
    return int(state.records.create(resource, fields, practice=doctor1.practice_group)["id"])


def _deliver(stack: Stack, event: str, object_id: int) -> str:
    delivery_id = f"every-{next(stack.extra['deliveries'])}"
    body = json.dumps({"receiver": {"id": 1}, "object": {"id": object_id}}).encode()
    headers = signed_headers(body, event=event, delivery_id=delivery_id)
    assert stack.http.post(stack.hub_url + HOOK, content=body, headers=headers).status_code == 200
    return delivery_id


def _one(stack: Stack, query: str) -> Any:
    rows = stack.rows(query)
    assert len(rows) == 1, rows
    return rows[0]


@pytest.mark.parametrize("event", EVENTS)
def test_each_event_is_processed_end_to_end(stack: Stack, event: str) -> None:
    target = route(event)
    assert target is not None
    resource = target.resource
    object_id = _new_record(stack, resource)
    reads_before = stack.count("api_calls", f"operation = '{resource}_read'")
    if target.action is Action.DELETE:
        stack.emulator_state.records.delete(resource, object_id)
    else:
        stack.emulator_state.records.update(resource, object_id, {})  # a new version
    delivery = _deliver(stack, event, object_id)

    where = f"delivery_id = '{delivery}'"
    stack.wait(lambda: stack.count("webhook_deliveries", f"{where} AND {FINAL}"))
    status, changes = _one(stack, f"SELECT status, changes FROM webhook_deliveries WHERE {where}")  # noqa: S608
    assert (status, changes) == ("done", 1)
    kind, source = _one(
        stack,
        "SELECT kind, source FROM change_events "  # noqa: S608
        f"WHERE resource = '{resource}' AND external_id = '{object_id}'",
    )
    assert (kind, source) == (target.kind.value, "webhook")
    record = f"resource = '{resource}' AND external_id = '{object_id}'"
    if target.action is Action.DELETE:  # confirmed by DrChrono's 404: nothing stored to keep
        assert stack.count("records", record + " AND deleted_at IS NULL") == 0
    else:
        assert stack.count("records", record + " AND deleted_at IS NULL") == 1
    reads = stack.rows(
        "SELECT priority, status FROM api_calls "  # noqa: S608
        f"WHERE operation = '{resource}_read' ORDER BY id"
    )[reads_before:]
    expected = 404 if target.action is Action.DELETE else 200
    assert reads == [("webhook", expected)]
