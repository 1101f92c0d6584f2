"""The async DrChrono API client, driven by the catalog.

    async with DrChronoClient(tokens=MemoryTokenSource(token), transport=...) as client:
        async for patient in client.patients.list(since="2026-01-01"):
            ...
        await client.call("appointments_create", json={...})
        user = await client.resource("users").action("current")

Ports (`TokenSource`, `Budget`, `CallObserver`) are implemented by the connection store, the
persisted budget and the API log; `MemoryTokenSource`, `MemoryBudget` and `MemoryObserver`
are the in-process versions. Every failure is an error of `chronobridge.errors`.
"""

from chronobridge.client._batch import BatchPage
from chronobridge.client._build import Outgoing
from chronobridge.client._core import DEFAULT_BASE_URL, ClientOptions, DrChronoClient
from chronobridge.client._errors import error_class_for, error_for
from chronobridge.client._logging import guard_library_logs
from chronobridge.client._memory import MemoryBudget, MemoryObserver, MemoryTokenSource
from chronobridge.client._pages import Page
from chronobridge.client._ports import Budget, CallObserver, CallRecord, Priority, TokenSource
from chronobridge.client._resource import ResourceClient
from chronobridge.client._types import (
    Allergy,
    Appointment,
    ClinicalNote,
    Doctor,
    Document,
    LabOrder,
    LabResult,
    LineItem,
    Medication,
    Office,
    Patient,
    PatientPayment,
    Problem,
    Task,
)
from chronobridge.domain.backoff import Backoff

__all__ = [
    "DEFAULT_BASE_URL",
    "Allergy",
    "Appointment",
    "Backoff",
    "BatchPage",
    "Budget",
    "CallObserver",
    "CallRecord",
    "ClientOptions",
    "ClinicalNote",
    "Doctor",
    "Document",
    "DrChronoClient",
    "LabOrder",
    "LabResult",
    "LineItem",
    "Medication",
    "MemoryBudget",
    "MemoryObserver",
    "MemoryTokenSource",
    "Office",
    "Outgoing",
    "Page",
    "Patient",
    "PatientPayment",
    "Priority",
    "Problem",
    "ResourceClient",
    "Task",
    "TokenSource",
    "error_class_for",
    "error_for",
    "guard_library_logs",
]
