"""Lists: the envelope, keyset pages through `next`/`previous`, page sizes, filters, `since`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx2
import pytest

from chronobridge.catalog import CATALOG, Kind
from chronobridge.emulator import create_app
from chronobridge.emulator._seed import MAIN_PRACTICE
from chronobridge.emulator._serialize import renderer
from support.rest_api import api, check, envelope, first_id, make_state, token
from support.servers import running_server


async def every_row(client: httpx2.AsyncClient, url: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    response = await client.get(url, params=params) if params else await client.get(url)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        assert list(body) == ["previous", "results", "next"]
        rows.extend(body["results"])
        if body["next"] is None:
            return rows
        response = await client.get(body["next"])


async def test_a_list_longer_than_a_page_returns_every_row_once_through_next() -> None:
    state = make_state(patients=120)
    async with api(state) as client:
        rows = await every_row(client, "/api/patients", page_size=25)
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)) == 120  # the other practice's patients are not visible
    assert ids == sorted(ids)


async def test_pages_stay_stable_while_records_are_added_and_removed() -> None:
    state = make_state(patients=60)
    async with api(state) as client:
        first = (await client.get("/api/patients", params={"page_size": 20})).json()
        seen = [row["id"] for row in first["results"]]
        state.records.delete("patients", seen[0])  # already served: must not shift the pages
        created = await client.post("/api/patients", json={"gender": "Female", "doctor": 268001})
        assert created.status_code == 201
        rest = await every_row(client, first["next"])
    ids = seen + [row["id"] for row in rest]
    assert len(ids) == len(set(ids)) == 61
    assert ids[-1] == created.json()["id"]


async def test_previous_links_walk_back_to_the_first_page() -> None:
    state = make_state(patients=50)
    async with api(state) as client:
        pages = [(await client.get("/api/patients", params={"page_size": 20})).json()]
        while pages[-1]["next"]:
            pages.append((await client.get(pages[-1]["next"])).json())
        assert pages[0]["previous"] is None
        back = (await client.get(pages[-1]["previous"])).json()
        assert back["results"] == pages[-2]["results"]
        assert back["next"] is not None
        start = (await client.get(back["previous"])).json()
    assert start["results"] == pages[0]["results"]
    assert start["previous"] is None


async def test_links_are_absolute_and_keep_the_filters() -> None:
    state = make_state()
    async with api(state) as client:
        body = (
            await client.get("/api/patients/", params={"page_size": 5, "gender": "Male"})
        ).json()
    assert body["next"].startswith("http://emulator/api/patients/?")
    assert "gender=Male" in body["next"]
    assert "cursor=" in body["next"]
    assert all(row["gender"] == "Male" for row in body["results"])


@pytest.mark.parametrize(
    ("params", "size"),
    [
        ({}, 250),
        ({"page_size": 3}, 3),
        ({"page_size": 9999}, 250),
        # DRF's paginators: a page size that is not a positive integer means the default.
        ({"page_size": 0}, 250),
        ({"page_size": -4}, 250),
        ({"page_size": "ten"}, 250),
    ],
)
async def test_page_size_defaults_and_is_clamped(params: dict[str, Any], size: int) -> None:
    state = make_state(patients=300)
    async with api(state) as client:
        body = (await client.get("/api/patients", params=params)).json()
    assert len(body["results"]) == size


async def test_verbose_caps_the_page_and_adds_the_verbose_fields() -> None:
    state = make_state(patients=80)
    verbose = set(CATALOG.verbose_fields("Patient"))
    async with api(state) as client:
        plain = (await client.get("/api/patients", params={"page_size": 100})).json()
        rich = await client.get("/api/patients", params={"page_size": 100, "verbose": "true"})
        dates = {"since": "2000-01-01", "page_size": 250, "verbose": "true"}
        appointments = (await client.get("/api/appointments", params=dates)).json()
    assert len(plain["results"]) == 80
    assert not verbose & set(plain["results"][0])
    assert len(rich.json()["results"]) == 50
    assert verbose <= set(rich.json()["results"][0])
    assert len(appointments["results"]) == 25


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"cursor": "!!not-a-cursor!!"}, "cursor", "Invalid cursor."),
        ({"since": "yesterday"}, "since", "Datetime has wrong format."),
        ({"doctor": "abc"}, "doctor", "A valid integer is required."),
        ({"date_of_birth": "1/2/1990"}, "date_of_birth", "Date has wrong format."),
    ],
)
async def test_garbage_parameters_answer_400_naming_the_field(
    params: dict[str, str], field: str, message: str
) -> None:
    state = make_state()
    async with api(state) as client:
        response = await client.get("/api/patients", params=params)
    assert response.status_code == 400
    assert response.json()[field][0].startswith(message)


async def test_appointments_need_one_date_filter() -> None:
    state = make_state()
    async with api(state) as client:
        response = await client.get("/api/appointments")
        wide = await client.get("/api/appointments", params={"date_range": "2020-01-01/2021-01-01"})
        reversed_range = await client.get(
            "/api/appointments", params={"date_range": "2021-01-02/2021-01-01"}
        )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "One of since, occurred_since, date, date_range is required."
    }
    assert wide.status_code == 400
    assert "date_range" in wide.json()
    assert reversed_range.status_code == 400


async def test_the_audit_log_needs_since_date_or_date_range() -> None:
    state = make_state()
    async with api(state) as client:
        bare = await client.get("/api/audit_log")
        dated = await client.get("/api/audit_log", params={"since": "2000-01-01"})
    assert bare.status_code == 400
    assert bare.json() == {"detail": "One of since, date, date_range is required."}
    assert dated.status_code == 200
    assert dated.json()["results"]


async def test_date_and_date_range_select_by_local_scheduled_day() -> None:
    state = make_state()
    days = sorted({r["scheduled_time"][:10] for r, _m in state.records.scan("appointments")})
    day, start, end = days[3], days[1], days[5]
    async with api(state) as client:
        on_day = await every_row(client, "/api/appointments", date=day)
        in_range = await every_row(client, "/api/appointments", date_range=f"{start}/{end}")
        since = await every_row(client, "/api/appointments", occurred_since=day)
    assert on_day
    assert {r["scheduled_time"][:10] for r in on_day} == {day}
    assert {r["scheduled_time"][:10] for r in in_range} == {d for d in days if start <= d <= end}
    assert min(r["scheduled_time"] for r in since) >= day
    assert all(isinstance(r["id"], str) for r in on_day)


async def test_equality_filters_on_schema_fields() -> None:
    state = make_state(patients=30)
    patient = first_id(state, "patients", practice=MAIN_PRACTICE)
    async with api(state) as client:
        by_patient = await every_row(
            client, "/api/appointments", since="2000-01-01", patient=patient
        )
        by_doctor = await every_row(client, "/api/patients", doctor=268002)
        notes = await every_row(client, "/api/clinical_notes", doctor=268002)
    expected = [
        r["id"]
        for r, m in state.records.scan("appointments")
        if r["patient"] == patient and m.deleted is None
    ]
    assert [int(r["id"]) for r in by_patient] == expected
    assert by_doctor
    assert {r["doctor"] for r in by_doctor} == {268002}
    assert notes
    assert {r["doctor"] for r in notes} == {268002}


async def test_since_returns_only_what_changed_on_or_after_the_local_day() -> None:
    state = make_state(patients=50)
    state.clock.advance(timedelta(days=3))
    changed = first_id(state, "patients", practice=MAIN_PRACTICE)
    state.records.update("patients", changed, {"first_name": "Renamed"})
    doctor = state.records.get("doctors", 268001)
    today = renderer(state).zone_of_doctor(268001)
    assert doctor is not None
    assert today is not None
    local_day = state.clock.now().astimezone(today).date().isoformat()
    async with api(state) as client:
        rows = await every_row(client, "/api/patients", since=local_day)
        moment = await every_row(client, "/api/patients", since=f"{local_day}T00:00:00")
    assert [r["id"] for r in rows] == [changed]
    assert rows[0]["first_name"] == "Renamed"
    assert rows[0]["updated_at"].startswith(local_day)
    assert [r["id"] for r in moment] == [changed]


async def test_show_archived_includes_deleted_appointments() -> None:
    state = make_state()
    async with api(state) as client:
        rows = await every_row(client, "/api/appointments", since="2000-01-01")
        gone = rows[0]["id"]
        assert (await client.delete(f"/api/appointments/{gone}")).status_code == 204
        live = await every_row(client, "/api/appointments", since="2000-01-01")
        archived = await every_row(
            client, "/api/appointments", since="2000-01-01", show_archived="true"
        )
    assert gone not in {r["id"] for r in live}
    assert {r["id"]: r["deleted_flag"] for r in archived}[gone] is True


async def test_messages_filter_on_updated_since() -> None:
    state = make_state()
    async with api(state) as client:
        everything = await every_row(client, "/api/messages", updated_since="2000-01-01")
        future = await every_row(client, "/api/messages", updated_since="2999-01-01")
    assert len(everything) == 5
    assert future == []


@pytest.mark.parametrize(
    "op",
    [op for op in CATALOG.operations if op.kind is Kind.LIST],
    ids=lambda op: op.name,
)
async def test_every_list_returns_seeded_rows_that_fit_the_schema(op: Any) -> None:
    state = make_state(patients=8, appointments=20)
    params = {"payer_type": "primary"} if op.resource == "insurances" else {}
    if op.required_one_of:
        params["since"] = "2000-01-01"
    async with api(state) as client:
        response = await client.get(op.path, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["results"], op.path
    assert op.schema is not None
    check(body, envelope(op.schema))


async def test_links_carry_the_scheme_host_and_port_as_received_on_a_socket() -> None:
    state = make_state(patients=30)
    with running_server(create_app(state=state)) as url:
        headers = {"Authorization": f"Bearer {token(state)}"}
        async with httpx2.AsyncClient(base_url=url, headers=headers) as client:
            first = (await client.get("/api/patients/", params={"page_size": 10})).json()
            second = (await client.get(first["next"])).json()
            proxied = await client.get(
                "/api/patients", params={"page_size": 10}, headers={"Host": "drchrono.test:8443"}
            )
    assert first["next"].startswith(f"{url}/api/patients/?")
    assert second["previous"].startswith(f"{url}/api/patients/?")
    assert proxied.json()["next"].startswith("http://drchrono.test:8443/api/patients?")
