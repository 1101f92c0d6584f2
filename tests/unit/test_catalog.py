"""The catalog holds all of DrChrono's document, corrected by the overlay, and stays fresh."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from chronobridge.catalog import CATALOG, SCOPES, Kind, scope_allows

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "spec" / "drchrono-openapi-v4-hunt-valley.yml"
SHARED_SPEC = ROOT.parent / "shared" / "reference" / SPEC.name


@pytest.fixture(scope="module")
def document() -> dict:
    return yaml.safe_load(SPEC.read_text())


def test_generated_catalog_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_catalog.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(not SHARED_SPEC.exists(), reason="no shared reference folder beside the repo")
def test_vendored_document_is_the_shared_reference() -> None:
    assert SPEC.read_bytes() == SHARED_SPEC.read_bytes()


def test_every_path_and_operation_of_the_document_is_in_the_catalog(document: dict) -> None:
    methods = ("get", "post", "put", "patch", "delete")
    wanted = {(m.upper(), p) for p, item in document["paths"].items() for m in item if m in methods}
    have = {(op.method, op.path) for op in CATALOG if op.source == "document"}
    assert len(document["paths"]) == 168
    assert have == wanted
    assert len(wanted) == 327


def test_overlay_adds_iframe_integration_and_current_user() -> None:
    assert CATALOG.find("POST", "/api/iframe_integration") is not None
    assert CATALOG.find("DELETE", "/api/iframe_integration") is not None
    current = CATALOG.find("GET", "/api/users/current")
    assert current is not None
    assert current.success_status == 302
    assert CATALOG.find("GET", "/api/users/17").name == "users_read"


def test_lists_use_results_envelope_and_page_limits() -> None:
    patients = CATALOG.operation("patients_list")
    assert patients.paginated
    assert patients.page_size_max == 250
    schema = CATALOG.schemas["Patient"]
    assert "primary_insurance" in schema["x-verbose-required"]
    appointments = CATALOG.operation("appointments_list")
    assert appointments.required_one_of == ("since", "occurred_since", "date", "date_range")
    # The document's own note on GET /api/audit_log: one of since, date or date_range.
    assert CATALOG.operation("audit_log_list").required_one_of == ("since", "date", "date_range")
    others = [op.name for op in CATALOG if op.required_one_of]
    assert sorted(others) == ["appointments_list", "audit_log_list"]
    assert appointments.verbose_page_size_max == 25
    batch = CATALOG.operation("patients_list_create")
    assert batch.kind is Kind.BATCH_SUBMIT
    assert batch.page_size_max == 1000
    cnfv = CATALOG.operation("clinical_note_field_values_list_create")
    assert cnfv.page_size_max == 20000


def test_appointment_ids_are_strings_and_others_integers() -> None:
    assert CATALOG.resource("appointments").id_type == "string"
    assert CATALOG.schemas["Appointment"]["properties"]["id"]["type"] == "string"
    assert CATALOG.resource("patients").id_type == "integer"


def test_scopes_are_the_22_and_every_operation_names_known_ones() -> None:
    assert len(SCOPES) == 22
    for op in CATALOG:
        assert set(op.scopes) <= set(SCOPES), op.name


def test_scope_gate_reads_need_any_scope_writes_need_a_write_scope() -> None:
    read = CATALOG.operation("patients_list")
    write = CATALOG.operation("patients_create")
    assert scope_allows(read, {"patients:read"})
    assert not scope_allows(write, {"patients:read"})
    assert scope_allows(write, {"patients:write"})
    assert not scope_allows(read, {"calendar:read"})


def test_pollable_resources_cover_the_change_feeds() -> None:
    names = {r.name for r in CATALOG.pollable}
    feeds = {
        "patients", "patients_summary", "patient_messages", "patient_payments", "appointments",
        "appointments_list", "lab_orders", "lab_documents", "documents", "fee_schedules",
        "line_items", "transactions", "prescription_messages", "comm_logs", "messages", "tasks",
        "task_templates", "task_categories", "task_statuses", "task_notes", "inventory_vaccines",
        "inventory_categories", "audit_log",
    }  # fmt: skip
    assert len(feeds) == 23
    assert feeds <= names
    assert CATALOG.resource("messages").since_param == "updated_since"
    assert not CATALOG.resource("allergies").pollable


def test_batch_resources_point_at_their_base() -> None:
    batches = {r.name: r.batch_of for r in CATALOG.resources.values() if r.batch_of}
    assert batches == {
        "patients_list": "patients",
        "clinical_notes_list": "clinical_notes",
        "clinical_note_field_values_list": "clinical_note_field_values",
        "line_items_list": "line_items",
        "transactions_list": "transactions",
        "eligibility_checks_list": "eligibility_checks",
        "prescription_messages_list": "prescription_messages",
    }
    assert CATALOG.resource("patients").batch == "patients_list"


def test_the_27_webhook_events_point_at_catalog_resources() -> None:
    assert len(CATALOG.events) == 27
    for event in CATALOG.events:
        assert event.resource in CATALOG.resources
    assert CATALOG.event("PATIENT_FLAG_MODIFY") is CATALOG.event("PATIENT_FLAG_CMODIFY")
    assert CATALOG.event("NOPE") is None


def test_every_operation_is_an_action_with_a_valid_input_schema() -> None:
    from jsonschema import Draft202012Validator

    actions = CATALOG.actions()
    assert len(actions) == len(CATALOG)
    for action in actions:
        Draft202012Validator.check_schema(action["input_schema"])
    create = next(a for a in actions if a["name"] == "patients_create")
    body = create["input_schema"]["properties"]["body"]
    assert set(body["required"]) == {"gender", "doctor"}
    assert "id" not in body["properties"]  # read-only fields are not inputs
    read = next(a for a in actions if a["name"] == "patients_read")
    assert read["input_schema"]["required"] == ["path"]
