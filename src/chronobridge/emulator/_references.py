"""Which fields of a record hold the id of another record: one table for the seed (which points
them at seeded records) and for validation (which refuses ids that do not exist, DRF's
`Invalid pk "N" - object does not exist.`).

Most references are known by their name. A few names mean different things in different
schemas (a task's integer `status` is a `/api/task_statuses` id; an inventory vaccine's
`category` an `/api/inventory_categories` id), so those are known by (schema, field).
"""

from __future__ import annotations

from functools import cache

BY_NAME: dict[str, str] = {
    "patient": "patients",
    "doctor": "doctors",
    "provider": "doctors",
    "ordering_doctor": "doctors",
    "office": "offices",
    "appointment": "appointments",
    "appointment_id": "appointments",
    "lab_order": "lab_orders",
    "lab_test": "lab_tests",
    "document": "lab_documents",
    "task": "tasks",
    "line_item": "line_items",
    "billing_line_item_id": "line_items",
    "consent_form": "consent_forms",
    "sublab": "sublabs",
    "clinical_note_template": "clinical_note_templates",
    "clinical_note_field": "clinical_note_field_types",
    "profile": "appointment_profiles",
    "category": "task_categories",
    "assignee_group": "user_groups",
    "assignee_user": "users",
    "user": "users",
    "owner": "users",
    "responsible_user": "users",
    "parent_message": "prescription_messages",
}
BY_SCHEMA: dict[tuple[str, str], str] = {
    ("Task", "status"): "task_statuses",
    ("Task", "category"): "task_categories",
    ("InventoryVaccine", "category"): "inventory_categories",
}
# What validation checks: the references "where obvious" plus the schema-specific ones. The
# others are seeded consistently but accepted as sent (DrChrono's rules for them are unknown).
VALIDATED = frozenset(
    {"patient", "doctor", "provider", "ordering_doctor", "office", "appointment", "lab_order"}
    | {"task", "clinical_note_field"}
)


@cache
def seeded(schema: str) -> dict[str, str]:
    """Field → table for the seed of `schema`."""
    own = {field: table for (name, field), table in BY_SCHEMA.items() if name == schema}
    return {**BY_NAME, **own}


@cache
def validated(schema: str) -> dict[str, str]:
    """Field → table whose ids a body of `schema` must name."""
    own = {field: table for (name, field), table in BY_SCHEMA.items() if name == schema}
    return {**{name: BY_NAME[name] for name in VALIDATED}, **own}
