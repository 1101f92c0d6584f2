"""DrChrono's answers as the outbox's outcomes: what settles (reported, never retried) and what
is retried, with sentences that name fields and ids, never values."""

from __future__ import annotations

import pytest

from chronobridge.domain.mappings import MappingContext, default_mapping
from chronobridge.domain.writeback import (
    ModelChange,
    RequestPlan,
    WriteAction,
    classify_error,
    plan,
)
from chronobridge.errors import (
    Conflict,
    HubError,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    ValidationFailed,
)
from chronobridge.store import Settled, WritebackStatus
from chronobridge.writeback import EXIT_CODES, Retry
from chronobridge.writeback._outcome import settle_verdict
from chronobridge.writeback._workflow import retry_delay, workflow_id

CANARY = "Vantablack-5be1"
PATIENT = {"first_name": "Quorra", "last_name": CANARY, "gender": "F", "provider_id": "268001"}


def _plan(action: WriteAction = WriteAction.CREATE) -> RequestPlan:
    change = ModelChange(
        model="patient",
        action=action,
        values=PATIENT,
        external_id=None if action is WriteAction.CREATE else "86800001",
    )
    found = plan(change, mapping=default_mapping(), context=MappingContext(), app_id="1")
    assert found is not None
    return found


def _settle(
    error: HubError, action: WriteAction = WriteAction.CREATE, model: str = "patient"
) -> Settled | Retry:
    request = _plan(action)
    return settle_verdict(model, action.value, "86800001", classify_error(request, error), error)


def test_refused_fields_are_named_in_the_models_terms() -> None:
    error = ValidationFailed(fields={"doctor": [f"Invalid pk {CANARY}"], "last_name": ["bad"]})
    settled = _settle(error)
    assert not isinstance(settled, Retry)
    assert settled.status is WritebackStatus.REJECTED
    assert settled.error_fields == ("last_name", "provider_id")
    assert settled.message == (
        "DrChrono rejected patient.last_name, patient.provider_id; nothing changed. "
        "Fix those fields and send again."
    )
    assert CANARY not in settled.message


def test_an_overlap_is_a_conflict_sentence_for_appointments() -> None:
    settled = _settle(Conflict(method="POST", path="/api/appointments"), model="appointment")
    assert not isinstance(settled, Retry)
    assert settled.status is WritebackStatus.CONFLICT
    assert "overlaps another appointment in that exam room; nothing was booked" in settled.message


@pytest.mark.parametrize(
    ("error", "action"),
    [
        (ServerError(status=503), WriteAction.CREATE),  # VERIFY: look before sending again
        (ServerError(status=502), WriteAction.UPDATE),
        (TransportError("DrChrono could not be reached"), WriteAction.CREATE),
        (RateLimited(retry_after=30.0, status=429), WriteAction.UPDATE),
    ],
)
def test_what_may_pass_later_is_retried(error: HubError, action: WriteAction) -> None:
    settled = _settle(error, action)
    assert isinstance(settled, Retry)
    assert "queued and will be sent again" in settled.message


def test_a_rate_limit_keeps_drchronos_wait() -> None:
    settled = _settle(RateLimited(retry_after=30.0, status=429), WriteAction.UPDATE)
    assert isinstance(settled, Retry)
    assert settled.retry_after == 30.0


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (Unauthorized(), "authorized again"),
        (PermissionDenied(), "lacks the scope"),
        (NotFound(), "DrChrono has no patient 86800001"),
    ],
)
def test_what_will_not_pass_later_fails_with_its_reason(error: HubError, words: str) -> None:
    settled = _settle(error, WriteAction.UPDATE)
    assert not isinstance(settled, Retry)
    assert settled.status is WritebackStatus.FAILED
    assert words in settled.message


def test_retry_delays_grow_and_respect_drchronos_wait() -> None:
    assert [retry_delay(n, None) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    assert retry_delay(20, None) == 300.0
    assert retry_delay(1, 42.0) == 42.0
    assert retry_delay(1, 0.01) == 1.0


def test_exit_codes_and_job_ids() -> None:
    assert EXIT_CODES[WritebackStatus.DONE] == 0
    assert {EXIT_CODES[s] for s in WritebackStatus if s is not WritebackStatus.DONE} >= {1, 3, 4, 5}
    assert workflow_id(7, 2) == "writeback:7:2"
