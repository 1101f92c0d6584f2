"""What one execution of a write-back ends with, and what the caller reads.

An execution either *settles* the row (done, rejected, conflict, review, failed) or asks to be
run again later (`Retry`: 429, 5xx, network, budget, a racing create). `WritebackResult` is the
caller's view of the row: the status, DrChrono's id, the rejected field names and one sentence.
"""

from __future__ import annotations

from dataclasses import dataclass

from chronobridge.domain.writeback import Verdict, WritebackOutcome
from chronobridge.errors import HubError
from chronobridge.store import Settled, StoredWriteback, WritebackStatus
from chronobridge.writeback import _sentences as say

__all__ = ["EXIT_CODES", "Retry", "WritebackResult", "settle_verdict"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Retry:
    """Send again later; `retry_after` in seconds when DrChrono or the budget named a time."""

    retry_after: float | None
    error_class: str
    message: str


EXIT_CODES = {
    WritebackStatus.DONE: 0,
    WritebackStatus.FAILED: 1,
    WritebackStatus.REVIEW: 3,
    WritebackStatus.REJECTED: 4,
    WritebackStatus.CONFLICT: 5,
    WritebackStatus.QUEUED: 6,
    WritebackStatus.SENDING: 6,
}
"""The CLI's exit code per status (2 is the usage error of the command line itself)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WritebackResult:
    writeback_id: int
    model: str
    action: str
    status: WritebackStatus
    drchrono_id: str | None
    matched_existing: bool
    error_fields: tuple[str, ...]
    error_class: str | None
    message: str
    review_id: int | None = None

    @classmethod
    def of(cls, stored: StoredWriteback, *, review_id: int | None = None) -> WritebackResult:
        return cls(
            writeback_id=stored.id,
            model=stored.model,
            action=stored.action,
            status=stored.status,
            drchrono_id=stored.drchrono_id,
            matched_existing=stored.matched_existing,
            error_fields=stored.error_fields,
            error_class=stored.error_class,
            message=stored.message or _default(stored),
            review_id=review_id,
        )

    @property
    def ok(self) -> bool:
        return self.status is WritebackStatus.DONE

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]


def settle_verdict(
    model: str,
    action: str,
    external_id: str | None,
    outcome: WritebackOutcome,
    error: HubError,
) -> Settled | Retry:
    """DrChrono's refusal as the row's final state, or a retry for what may pass later."""
    name = type(error).__name__
    verdict = outcome.verdict
    if verdict in {Verdict.RETRY, Verdict.VERIFY}:
        return Retry(
            retry_after=outcome.retry_after, error_class=name, message=say.retrying(outcome.status)
        )
    if verdict is Verdict.REJECTED:
        fields = outcome.fields
        return Settled(
            status=WritebackStatus.REJECTED,
            error_fields=fields,
            error_class=name,
            message=say.rejected(model, fields),
        )
    if verdict is Verdict.CONFLICT:
        return Settled(
            status=WritebackStatus.CONFLICT, error_class=name, message=say.conflict(model, action)
        )
    return Settled(
        status=WritebackStatus.FAILED,
        error_class=name,
        message=_failure(model, external_id, outcome),
    )


def _failure(model: str, external_id: str | None, outcome: WritebackOutcome) -> str:
    if outcome.verdict is Verdict.GONE:
        return say.gone(model, external_id)
    if outcome.verdict is Verdict.DENIED:
        return say.denied(model)
    if outcome.verdict is Verdict.REAUTH:
        return say.reauth()
    return say.unexpected(outcome.status)


def _default(stored: StoredWriteback) -> str:
    if stored.status is WritebackStatus.DONE:
        return say.done(stored.model, stored.action, stored.drchrono_id)
    if stored.status in {WritebackStatus.QUEUED, WritebackStatus.SENDING}:
        return "The change is queued for DrChrono."
    return f"The write-back ended as {stored.status.value}."
