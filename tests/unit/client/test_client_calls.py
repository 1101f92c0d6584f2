"""Catalog-driven calls: checks before sending, bodies, media, headers and resource helpers."""

from __future__ import annotations

import httpx2
import pytest
from client_fakes import body_of, ok, query, rig

from chronobridge.client import ClientOptions
from chronobridge.errors import InvalidRequest, ServerError, TransportError


def echo(request: httpx2.Request) -> httpx2.Response:
    return ok({"method": request.method, "path": request.url.path})


@pytest.mark.parametrize(
    ("operation", "kwargs", "message"),
    [
        ("patients_fly", {}, "no operation named 'patients_fly'"),
        ("patients_read", {}, "patients_read needs an id"),
        ("patients_read", {"id": "abc"}, "needs an integer id"),
        ("patients_read", {"id": True}, "integer or a string"),
        ("appointments_list", {"params": {"doctor": 3}}, "one of these filters: since, occurred"),
        ("yellow_notepad_retrieve", {"params": {"appointment_id": 1}}, "template_id"),
        ("patients_list_list", {}, "uuid"),
        ("patients_list", {"params": {"page_size": 0}}, "at least 1"),
        ("patients_list", {"params": {"since": object()}}, "'since' must be"),
    ],
)
async def test_what_the_catalog_knows_is_checked_before_sending(
    operation: str, kwargs: dict[str, object], message: str
) -> None:
    r = rig(echo)
    with pytest.raises(InvalidRequest, match=message):
        await r.client.call(operation, **kwargs)  # type: ignore[arg-type]
    assert r.requests == []
    assert r.budget.used == 0


async def test_one_of_the_required_filters_is_enough() -> None:
    r = rig(lambda request: ok({"previous": None, "results": [], "next": None}))
    await r.client.call("appointments_list", params={"date": "2026-03-02", "verbose": False})
    assert query(r.requests[0]) == {"date": "2026-03-02", "verbose": "false"}


async def test_every_request_carries_token_accept_and_version() -> None:
    r = rig(echo)
    await r.client.call("doctors_read", id=3)
    headers = r.requests[0].headers
    assert headers["authorization"] == "Bearer tok-access-0001"
    assert headers["accept"] == "application/json"
    assert headers["x-drc-api-version"] == "v4"
    r = rig(echo, options=ClientOptions(api_version=None))
    await r.client.call("doctors_read", id=3)
    assert "x-drc-api-version" not in r.requests[0].headers


async def test_string_ids_are_quoted_into_the_path() -> None:
    r = rig(echo)
    answer = await r.client.appointments.get("2026-03-02_143422207")
    assert answer["path"] == "/api/appointments/2026-03-02_143422207"
    assert r.observer.calls[0].path == "/api/appointments/{id}"


async def test_create_sends_json_and_returns_the_object_or_a_list() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        sent = body_of(request)
        if isinstance(sent, list):
            return ok([{**b, "id": i} for i, b in enumerate(sent)], 201)
        return ok({**sent, "id": 9}, 201)

    r = rig(handler)
    one = await r.client.patients.create({"gender": "Female", "doctor": 1})
    assert one == {"gender": "Female", "doctor": 1, "id": 9}
    many = await r.client.patients.create(
        [{"gender": "Male", "doctor": 1}, {"gender": "Other", "doctor": 1}]
    )
    assert [p["id"] for p in many] == [0, 1]
    assert r.requests[0].headers["content-type"] == "application/json"


async def test_put_patch_delete_answer_none_on_204() -> None:
    r = rig(lambda request: httpx2.Response(204, headers={"Content-Type": "text/html"}))
    assert await r.client.patients.update(5, {"gender": "Male", "doctor": 1}) is None
    assert await r.client.patients.patch(5, {"email": "x@y.test"}) is None
    assert await r.client.patients.delete(5) is None
    assert [(q.method, q.url.path) for q in r.requests] == [
        ("PUT", "/api/patients/5"),
        ("PATCH", "/api/patients/5"),
        ("DELETE", "/api/patients/5"),
    ]


async def test_actions_by_name_and_method() -> None:
    r = rig(lambda request: httpx2.Response(200, text="<ClinicalDocument/>"))
    assert await r.client.patients.action("ccda", id=5) == "<ClinicalDocument/>"
    r = rig(echo)
    await r.client.offices.action("add_exam_room", id=2, json={"name": "Room 9"})
    await r.client.resource("consent_forms").action(
        "apply_to_appointment", id=4, json={"appointment": "7"}
    )
    await r.client.medications.action("append_to_pharmacy_note", id=3, json={"text": "n"})
    await r.client.patients.action("onpatient_access", id=5, method="post")
    await r.client.resource("yellow_notepad").action(
        "retrieve", params={"appointment_id": 1, "template_id": 2}
    )
    assert [(q.method, q.url.path) for q in r.requests] == [
        ("POST", "/api/offices/2/add_exam_room"),
        ("POST", "/api/consent_forms/4/apply_to_appointment"),
        ("PATCH", "/api/medications/3/append_to_pharmacy_note"),
        ("POST", "/api/patients/5/onpatient_access"),
        ("GET", "/api/yellow_notepad"),
    ]


async def test_ambiguous_or_unknown_actions_are_refused() -> None:
    r = rig(echo)
    with pytest.raises(InvalidRequest, match="needs method= one of DELETE, GET, POST"):
        await r.client.patients.action("onpatient_access", id=5)
    with pytest.raises(InvalidRequest, match="has no action 'fly'"):
        await r.client.patients.action("fly", id=5)
    with pytest.raises(InvalidRequest, match="clinical_notes has no create"):
        await r.client.clinical_notes.create({"x": 1})
    with pytest.raises(InvalidRequest, match="no async batch list for doctors"):
        r.client.doctors.batch()
    with pytest.raises(InvalidRequest, match="no resource named 'nope'"):
        r.client.resource("nope")
    assert r.requests == []


async def test_an_id_the_document_puts_in_the_query_goes_there() -> None:
    r = rig(lambda request: httpx2.Response(204))
    await r.client.call("signed_consent_forms_partial_update", id=8, json={"x": 1})
    assert (r.requests[0].url.path, query(r.requests[0])) == (
        "/api/signed_consent_forms",
        {"id": "8"},
    )


async def test_multipart_create_for_documents() -> None:
    r = rig(lambda request: ok({"id": 1}, 201))
    body = {"doctor": 1, "patient": 2, "description": "scan", "date": "2026-03-02"}
    await r.client.documents.create(
        body, files={"document": ("scan.pdf", b"%PDF-1.4", "application/pdf")}
    )
    sent = r.requests[0]
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert b'name="description"' in sent.content
    assert r.observer.calls[0].bytes_out == len(sent.content)


async def test_raw_request_uses_the_catalog_template_for_the_log() -> None:
    r = rig(echo)
    await r.client.request("get", "/api/patients/77", params={"verbose": "true"})
    await r.client.request("GET", "/api/unknown_thing/42/sub")
    assert [c.path for c in r.observer.calls] == [
        "/api/patients/{id}",
        "/api/unknown_thing/{id}/sub",
    ]
    with pytest.raises(InvalidRequest):
        await r.client.request("GET", "https://elsewhere.test/api/patients")


async def test_transport_failures_become_transport_errors() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectTimeout("connect timed out", request=request)

    r = rig(handler)
    with pytest.raises(TransportError, match=r"GET /api/patients/\{id\}: ConnectTimeout"):
        await r.client.patients.get(5)
    assert [(c.status, c.bytes_in) for c in r.observer.calls] == [(0, 0)]


async def test_the_timeout_option_reaches_every_request() -> None:
    r = rig(echo, options=ClientOptions(timeout=7.5))
    await r.client.doctors.get(1)
    assert r.requests[0].extensions["timeout"] == {
        "connect": 7.5,
        "read": 7.5,
        "write": 7.5,
        "pool": 7.5,
    }


@pytest.mark.parametrize("failure", ["500", "503", "reset", "timeout"])
async def test_nothing_is_retried_here_but_the_401_refresh(failure: str) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if failure == "reset":
            raise httpx2.ReadError("connection reset", request=request)
        if failure == "timeout":
            raise httpx2.ReadTimeout("read timed out", request=request)
        return httpx2.Response(int(failure), text="unavailable")

    r = rig(handler)
    with pytest.raises((ServerError, TransportError)) as caught:
        await r.client.patients.get(5)
    assert caught.value.retriable  # the job runner retries (DP-8: one layer only)
    assert len(r.requests) == 1
