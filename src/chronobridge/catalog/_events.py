"""DrChrono's 27 webhook events (facts §5) and the resource whose object each one carries.

The document has no webhook section, so this table is hand-written from DrChrono's webhook docs.
"""

from __future__ import annotations

from chronobridge.catalog._model import WebhookEvent

PING = "PING"


def _event(name: str, resource: str, change: str, description: str, *aliases: str) -> WebhookEvent:
    return WebhookEvent(
        name=name,
        resource=resource,
        change=change,  # type: ignore[arg-type]
        aliases=aliases,
        description=description,
    )


WEBHOOK_EVENTS: tuple[WebhookEvent, ...] = (
    _event("APPOINTMENT_CREATE", "appointments", "created", "An appointment or break is created"),
    _event("APPOINTMENT_MODIFY", "appointments", "updated", "An appointment is modified"),
    _event("APPOINTMENT_DELETE", "appointments", "deleted", "An appointment is deleted"),
    _event("CASH_PAYMENT_DELETE", "patient_payments", "deleted", "A patient payment is deleted"),
    _event("CLINICAL_NOTE_LOCK", "clinical_notes", "locked", "A clinical note is locked"),
    _event("CLINICAL_NOTE_UNLOCK", "clinical_notes", "unlocked", "A clinical note is unlocked"),
    _event("LAB_ORDER_CREATE", "lab_orders", "created", "A lab order is created"),
    _event("LAB_ORDER_MODIFY", "lab_orders", "updated", "A lab order is modified"),
    _event("LAB_ORDER_DELETE", "lab_orders", "deleted", "A lab order is deleted"),
    _event("LINE_ITEM_CREATE", "line_items", "created", "A billing line item is created"),
    _event("LINE_ITEM_MODIFY", "line_items", "updated", "A billing line item is modified"),
    _event("LINE_ITEM_DELETE", "line_items", "deleted", "A billing line item is deleted"),
    _event(
        "LINE_ITEM_TRANSACTION_DELETE",
        "transactions",
        "deleted",
        "A line item transaction is deleted",
    ),
    _event("PATIENT_CREATE", "patients", "created", "A patient is created"),
    _event("PATIENT_MODIFY", "patients", "updated", "A patient is modified"),
    _event("PATIENT_ALLERGY_CREATE", "allergies", "created", "A patient allergy is created"),
    _event("PATIENT_ALLERGY_MODIFY", "allergies", "updated", "A patient allergy is modified"),
    _event("PATIENT_FLAG_CREATE", "patients", "updated", "A flag is attached to a patient"),
    # The docs spell it PATIENT_FLAG_CMODIFY; the real name is unconfirmed, so both are accepted.
    _event(
        "PATIENT_FLAG_CMODIFY",
        "patients",
        "updated",
        "A patient's flag is modified",
        "PATIENT_FLAG_MODIFY",
    ),
    _event("PATIENT_PROBLEM_CREATE", "problems", "created", "A patient problem is created"),
    _event("PATIENT_PROBLEM_MODIFY", "problems", "updated", "A patient problem is modified"),
    _event(
        "PATIENT_MEDICATION_CREATE", "medications", "created", "A patient medication is created"
    ),
    _event(
        "PATIENT_MEDICATION_MODIFY", "medications", "updated", "A patient medication is modified"
    ),
    _event("TASK_CREATE", "tasks", "created", "A task is created"),
    _event("TASK_MODIFY", "tasks", "updated", "A task, or one of its notes or items, changes"),
    _event("TASK_DELETE", "tasks", "deleted", "A task is deleted"),
    _event(
        "VACCINE_ADMINISTERED",
        "patient_vaccine_records",
        "created",
        "A vaccine consent form is signed",
    ),
)
