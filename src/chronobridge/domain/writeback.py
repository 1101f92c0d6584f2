"""Write-back planning: a practice-model change becomes one DrChrono request, and DrChrono's
answer becomes a verdict the caller acts on. Pure: the sync engine sends the plan.

The body is the mapping run backwards (`mappings.reverse`): gender M → Male, E.164 → DrChrono's
`(555) 010-0100`, UTC → the doctor's wall clock, end time → `duration` minutes. An update sends
only the DrChrono fields written from the changed model fields (a PATCH), computed from the
*complete* model values, because converting a time needs the appointment's doctor.

Verdicts: 409 (overlap, duplicate, locked note) and 400 (field errors) go back to the caller,
never retried blindly; 429, 5xx and network failures are retried. A create whose outcome is
unknown (5xx, network) is VERIFY: DrChrono may have created it, so look before sending again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from chronobridge.catalog import CATALOG, Kind, Operation
from chronobridge.domain.mappings import CompiledMapping, MappingContext, reverse
from chronobridge.errors import ApiError, HubError, MappingError, RateLimited, ValidationFailed

__all__ = [
    "ModelChange",
    "RequestPlan",
    "Verdict",
    "WriteAction",
    "WritebackOutcome",
    "classify",
    "classify_error",
    "plan",
]


class WriteAction(StrEnum):
    CREATE = "create"  # create a patient, book an appointment
    UPDATE = "update"  # update a patient, reschedule or change an appointment


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelChange:
    """A change to the practice model that DrChrono should get."""

    model: str
    action: WriteAction
    values: Mapping[str, Any]
    """All of the record's model values after the change (not only the changed ones)."""
    external_id: str | None = None
    """DrChrono's id of the record; required for an update."""
    changed: frozenset[str] | None = None
    """For an update, the model fields that changed (None: all of them)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestPlan:
    """One DrChrono call, ready for the client: the catalog operation and its inputs."""

    operation: str
    method: str
    path: str
    path_params: Mapping[str, str]
    body: Mapping[str, Any]
    idempotency_key: str
    """Equal for equal requests: the outbox sends each key once."""
    creates: bool
    field_names: Mapping[str, str] = field(default_factory=dict)
    """DrChrono field → model field, to report DrChrono's field errors in the model's terms."""


def plan(
    change: ModelChange,
    *,
    mapping: CompiledMapping,
    context: MappingContext,
    app_id: str,
) -> RequestPlan | None:
    """The request for `change`, or None when none of the changed fields is written back."""
    resource = mapping.model(change.model).spec.source
    creating = change.action is WriteAction.CREATE
    operation = _operation(change.model, resource, Kind.CREATE if creating else Kind.PATCH)
    only = None if creating else change.changed
    body = reverse(mapping, change.model, change.values, context, only=only)
    if creating:
        body = {k: v for k, v in body.items() if v is not None}
        _require(change.model, body, resource, mapping)
    if not body:
        return None
    params = {} if creating else {"id": _external_id(change)}
    names = {v.split(".")[0]: k for k, v in mapping.reversers[change.model].source_of.items()}
    return RequestPlan(
        operation=operation.name,
        method=operation.method,
        path=operation.path.replace("{id}", params.get("id", "")),
        path_params=params,
        body=body,
        idempotency_key=_key(app_id, operation.name, params.get("id", ""), body),
        creates=creating,
        field_names=names,
    )


class Verdict(StrEnum):
    DONE = "done"
    REJECTED = "rejected"  # 400: DrChrono refused fields; report them
    CONFLICT = "conflict"  # 409: overlap, duplicate or locked; report
    GONE = "gone"  # 404: the record was deleted in DrChrono; report
    DENIED = "denied"  # 403: scope or permission missing; report
    REAUTH = "reauth"  # 401: the connection needs its token refreshed or reconnected
    RETRY = "retry"  # 429, 5xx, network: send again later
    VERIFY = "verify"  # a create with an unknown outcome: look it up before sending again
    FAILED = "failed"  # anything else: report


@dataclass(frozen=True, slots=True, kw_only=True)
class WritebackOutcome:
    verdict: Verdict
    status: int | None
    fields: tuple[str, ...] = ()
    """The model fields (or DrChrono fields without a model field) DrChrono rejected."""
    retry_after: float | None = None

    @property
    def retriable(self) -> bool:
        return self.verdict in {Verdict.RETRY, Verdict.VERIFY}

    @property
    def report(self) -> bool:
        """Whether the caller must be told (the change did not happen and retrying won't help)."""
        return self.verdict not in {Verdict.DONE, Verdict.RETRY, Verdict.VERIFY, Verdict.REAUTH}


def classify(
    request: RequestPlan,
    *,
    status: int | None,
    error_fields: Iterable[str] = (),
    retry_after: float | None = None,
) -> WritebackOutcome:
    """DrChrono's answer (`status` None: no answer, the network failed) as a verdict."""
    if status is not None and 200 <= status < 300:
        return WritebackOutcome(verdict=Verdict.DONE, status=status)
    if status == 400:
        names = tuple(sorted({request.field_names.get(f, f) for f in error_fields}))
        return WritebackOutcome(verdict=Verdict.REJECTED, status=status, fields=names)
    if status == 429:
        return WritebackOutcome(verdict=Verdict.RETRY, status=status, retry_after=retry_after)
    if status is None or status >= 500:
        unknown = Verdict.VERIFY if request.creates else Verdict.RETRY
        return WritebackOutcome(verdict=unknown, status=status, retry_after=retry_after)
    verdict = _BY_STATUS.get(status, Verdict.FAILED)
    return WritebackOutcome(verdict=verdict, status=status)


def classify_error(request: RequestPlan, error: HubError) -> WritebackOutcome:
    """The same verdicts from the client's exception (`chronobridge.errors`)."""
    if isinstance(error, ValidationFailed):
        return classify(request, status=400, error_fields=error.fields)
    if isinstance(error, RateLimited):
        return classify(request, status=429, retry_after=error.retry_after)
    if isinstance(error, ApiError):
        return classify(request, status=error.status or None)
    if error.retriable:
        return classify(request, status=None)
    return WritebackOutcome(verdict=Verdict.FAILED, status=None)


_BY_STATUS = {401: Verdict.REAUTH, 403: Verdict.DENIED, 404: Verdict.GONE, 409: Verdict.CONFLICT}


def _operation(model: str, resource: str, kind: Kind) -> Operation:
    found = CATALOG.resource(resource).op(kind)
    if found is None:
        raise MappingError(
            f"{model}: DrChrono cannot {kind.value} {resource} (rule: write-back)",
            model=model,
            rule="write-back",
        )
    return found


def _require(model: str, body: Mapping[str, Any], resource: str, mapping: CompiledMapping) -> None:
    needed = CATALOG.required_fields(CATALOG.resource(resource).schema)
    missing = [name for name in needed if body.get(name) in (None, "")]
    if missing:
        names = {v: k for k, v in mapping.reversers[model].source_of.items()}
        first = names.get(missing[0], missing[0])
        raise MappingError(
            f"{model}.{first}: DrChrono needs it to create {resource} (rule: required)",
            model=model,
            field=first,
            rule="required",
        )


def _external_id(change: ModelChange) -> str:
    if not change.external_id:
        raise MappingError(
            f"{change.model}: an update needs the DrChrono id (rule: key)",
            model=change.model,
            field="external_id",
            rule="key",
        )
    return change.external_id


def _key(app_id: str, operation: str, record_id: str, body: Mapping[str, Any]) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    material = "\x1f".join((app_id, operation, record_id, text))
    return hashlib.sha256(material.encode()).hexdigest()[:32]
