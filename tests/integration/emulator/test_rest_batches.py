"""The asynchronous batch lists: submit, poll until ready, read pages, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chronobridge.catalog import CATALOG, Kind
from chronobridge.emulator import _batches
from support.rest_api import api, check, json_schema, make_state

BATCH_PATHS = sorted({op.path for op in CATALOG.operations if op.kind is Kind.BATCH_SUBMIT})


def test_the_seven_batch_endpoints() -> None:
    assert len(BATCH_PATHS) == 7


async def test_submit_poll_and_page_through_a_batch() -> None:
    state = make_state(patients=25)
    async with api(state) as client:
        submitted = await client.post("/api/patients_list", params={"page_size": 10})
        assert submitted.status_code == 201
        body = submitted.json()
        assert body["status"] == "In progress"
        assert "/api/patients_list?uuid=" in body["description"]
        waiting = await client.get("/api/patients_list", params={"uuid": body["uuid"]})
        state.clock.advance(_batches.READY_AFTER)
        pages = [
            (
                await client.get("/api/patients_list", params={"uuid": body["uuid"], "page": n})
            ).json()
            for n in (1, 2, 3)
        ]
        beyond = await client.get("/api/patients_list", params={"uuid": body["uuid"], "page": 4})
    assert waiting.json() == {"status": "In progress", "uuid": body["uuid"]}
    assert [p["status"] for p in pages] == ["Complete"] * 3
    assert [p["pagination"] for p in pages] == [
        {"count": 25, "pages": 3, "page": n} for n in (1, 2, 3)
    ]
    ids = [row["id"] for page in pages for row in page["results"]]
    assert ids == sorted(ids)
    assert len(set(ids)) == 25
    for row in pages[0]["results"]:
        check(row, json_schema("Patient"))
    assert beyond.status_code == 404


async def test_a_batch_snapshots_its_ids_and_takes_the_base_filters() -> None:
    state = make_state(patients=30)
    async with api(state) as client:
        males = await client.post("/api/patients_list", params={"gender": "Male"})
        late = await client.post("/api/patients", json={"gender": "Male", "doctor": 268001})
        state.clock.advance(timedelta(seconds=5))
        done = (
            await client.get("/api/patients_list", params={"uuid": males.json()["uuid"]})
        ).json()
    assert late.status_code == 201
    rows = done["results"]
    assert rows
    assert {r["gender"] for r in rows} == {"Male"}
    assert late.json()["id"] not in {r["id"] for r in rows}


async def test_order_by_updated_at() -> None:
    state = make_state()
    async with api(state) as client:
        submitted = await client.post("/api/clinical_notes_list", params={"order_by": "updated_at"})
        state.clock.advance(timedelta(seconds=2))
        done = (
            await client.get("/api/clinical_notes_list", params={"uuid": submitted.json()["uuid"]})
        ).json()
    stamps = [
        state.records.meta("clinical_notes", row["id"]).updated  # type: ignore[union-attr]
        for row in done["results"]
    ]
    assert stamps == sorted(stamps)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "1001"}, "page_size"),
        ({"page_size": "many"}, "page_size"),
        ({"page": "0"}, "page"),
        ({"order_by": "name"}, "order_by"),
        ({"since": "last week"}, "since"),
    ],
)
async def test_bad_submissions_answer_400(params: dict[str, str], field: str) -> None:
    state = make_state()
    async with api(state) as client:
        response = await client.post("/api/transactions_list", params=params)
    assert response.status_code == 400
    assert field in response.json()


async def test_unknown_expired_and_foreign_uuids_are_not_found() -> None:
    state = make_state()
    async with api(state) as client:
        submitted = (await client.post("/api/line_items_list")).json()
        unknown = await client.get("/api/line_items_list", params={"uuid": "nope"})
        missing = await client.get("/api/line_items_list")
    async with api(state, username="outsider1") as outsider:
        foreign = await outsider.get("/api/line_items_list", params={"uuid": submitted["uuid"]})
    state.clock.advance(timedelta(hours=1, seconds=1))
    async with api(state) as client:
        expired = await client.get("/api/line_items_list", params={"uuid": submitted["uuid"]})
    assert unknown.status_code == foreign.status_code == expired.status_code == 404
    assert missing.status_code == 400


async def test_readiness_delay_can_be_configured() -> None:
    state = make_state(extra={_batches.READY_SETTING: "0"})
    async with api(state) as client:
        submitted = (await client.post("/api/prescription_messages_list")).json()
        done = await client.get(
            "/api/prescription_messages_list", params={"uuid": submitted["uuid"]}
        )
    assert done.json()["status"] == "Complete"
