"""Finding an existing patient before one is created: in the store's match index, and in
DrChrono itself (which may hold patients the store has not synced yet, or the patient an
earlier attempt created before its answer was lost).

DrChrono is asked for the patients born that day (`date_of_birth` is an exact filter; names
are compared here, normalized, since DrChrono's name filters compare text as typed); without a
birth date, for the patients with that last name as typed. Every record found is mapped with
the practice's mapping and run through the same rules as the store's candidates.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from chronobridge.client import DrChronoClient
from chronobridge.domain.mappings import MappingContext, apply
from chronobridge.domain.matching import (
    Candidate,
    Hasher,
    MatchDecision,
    MatchKey,
    PatientIdentity,
    decide,
    identity_from_row,
    match_keys,
)
from chronobridge.errors import MappingError, NotFound
from chronobridge.writeback._services import WritebackServices

__all__ = ["close_listing", "drchrono_candidates", "find_existing", "store_candidates"]


async def store_candidates(
    services: WritebackServices, app_id: int, keys: Iterable[MatchKey]
) -> list[Candidate]:
    found = await services.index.lookup(app_id, keys)
    return [patient.candidate() for patient in found]


async def drchrono_candidates(
    services: WritebackServices,
    client: DrChronoClient,
    *,
    identity: PatientIdentity,
    raw_last_name: str | None,
    hints: Iterable[str] = (),
    context: MappingContext,
    hasher: Hasher,
) -> list[Candidate]:
    """DrChrono's patients that could be this one, as candidates with their keys."""
    records = await _listed(services, client, identity, raw_last_name)
    for patient_id in hints:
        record = await _get(client, patient_id)
        if record is not None:
            records.append(record)
    return [_candidate(services, record, context, hasher) for record in records]


async def find_existing(
    services: WritebackServices,
    client: DrChronoClient,
    *,
    app_id: int,
    values: Mapping[str, Any],
    keys: tuple[MatchKey, ...],
    hints: Iterable[str],
    context: MappingContext,
    hasher: Hasher,
) -> MatchDecision:
    """The rules' decision over the store's and DrChrono's candidates together."""
    identity = identity_from_row(values)
    local = await store_candidates(services, app_id, keys)
    remote = await drchrono_candidates(
        services,
        client,
        identity=identity,
        raw_last_name=values.get("last_name"),
        hints=hints,
        context=context,
        hasher=hasher,
    )
    return decide(keys, _merged(local, remote))


async def _listed(
    services: WritebackServices,
    client: DrChronoClient,
    identity: PatientIdentity,
    raw_last_name: str | None,
) -> list[Mapping[str, Any]]:
    patients = client.resource("patients")
    if identity.birth is not None:
        listing = patients.list(date_of_birth=identity.birth.isoformat())
    elif raw_last_name and raw_last_name.strip():
        listing = patients.list(last_name=raw_last_name.strip())
    else:
        return []
    found: list[Mapping[str, Any]] = []
    try:
        async for record in listing:
            if len(found) >= services.settings.lookup_limit:
                break
            if isinstance(record, Mapping):
                found.append(record)
    finally:
        await close_listing(listing)
    return found


async def close_listing(listing: AsyncIterator[Any]) -> None:
    """Stop a listing left early (its generator would otherwise be closed by the GC)."""
    aclose = getattr(listing, "aclose", None)
    if aclose is not None:
        await aclose()


async def _get(client: DrChronoClient, patient_id: str) -> Mapping[str, Any] | None:
    try:
        found = await client.call("patients_read", id=patient_id)
    except NotFound:
        return None
    return found if isinstance(found, Mapping) else None


def _candidate(
    services: WritebackServices,
    record: Mapping[str, Any],
    context: MappingContext,
    hasher: Hasher,
) -> Candidate:
    model = services.settings.patient_model
    try:
        values = apply(services.mapping, "patients", record, context, model=model).values
    except MappingError:
        values = _raw_values(record)  # an odd phone must not hide a name and birth date
    return Candidate(
        str(record.get("id")), frozenset(match_keys(identity_from_row(values), hasher=hasher))
    )


def _raw_values(record: Mapping[str, Any]) -> dict[str, Any]:
    names = ("first_name", "last_name", "date_of_birth", "email")
    values: dict[str, Any] = {name: record.get(name) for name in names}
    values["gender"] = record.get("gender")
    values["phone_home"], values["phone_mobile"] = (
        record.get("home_phone"),
        record.get("cell_phone"),
    )
    return values


def _merged(*groups: Iterable[Candidate]) -> list[Candidate]:
    """One candidate per DrChrono id; a later group wins (DrChrono's answer is fresher than
    the store's copy of the same patient)."""
    by_id: dict[str, frozenset[MatchKey]] = {}
    for candidate in itertools.chain(*groups):
        by_id[candidate.patient_id] = candidate.keys
    return [Candidate(patient_id, keys) for patient_id, keys in sorted(by_id.items())]
