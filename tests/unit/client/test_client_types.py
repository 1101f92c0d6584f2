"""The typed records are generated from the catalog and stay fresh; accessors return them."""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path

from chronobridge.catalog import CATALOG
from chronobridge.client import DrChronoClient, MemoryTokenSource, Patient, ResourceClient, _types

ROOT = Path(__file__).resolve().parents[3]
TYPED = (
    "patients", "appointments", "doctors", "offices", "clinical_notes", "medications",
    "allergies", "problems", "lab_orders", "lab_results", "documents", "tasks", "line_items",
    "patient_payments",
)  # fmt: skip


def test_generated_types_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_client_types.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_record_has_every_field_of_its_schema() -> None:
    for name in TYPED:
        accessor = getattr(_types.TypedResources, name)
        record = typing.get_type_hints(
            accessor.fget, vars(_types) | {"ResourceClient": ResourceClient}
        )["return"].__args__[0]
        schema = CATALOG.schemas[CATALOG.resource(name).schema]
        assert set(record.__annotations__) == set(schema["properties"]), name
        assert record.__total__ is False


def test_patient_fields_have_wire_types() -> None:
    hints = typing.get_type_hints(Patient)
    assert hints["first_name"] == str | None
    assert hints["doctor"] == int | None
    assert hints["id"] == int | None
    assert typing.get_type_hints(_types.Appointment)["id"] == str | None


async def test_accessors_are_resource_clients_of_their_resource() -> None:
    async with DrChronoClient(tokens=MemoryTokenSource("t")) as client:
        for name in TYPED:
            helper = getattr(client, name)
            assert isinstance(helper, ResourceClient)
            assert helper.name == name
