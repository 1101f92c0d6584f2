"""Blind identities: the create lock's key and the review queue's fingerprints.

Both are digests, never patient data. The identity key is keyed (HMAC under the blind-index
key), so a copy of the database cannot be searched for a known name and birth date; the
fingerprints hash only DrChrono ids and blind-index keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from chronobridge.domain.matching import (
    RULES,
    Hasher,
    MatchKey,
    MatchKind,
    PatientIdentity,
    identity_from_row,
    match_keys,
)

__all__ = [
    "duplicate_fingerprint",
    "exact_rules",
    "identity_key",
    "inbound_fingerprint",
    "keys_of_values",
]


def keys_of_values(
    values: Mapping[str, Any], hasher: Hasher
) -> tuple[PatientIdentity, tuple[MatchKey, ...]]:
    """The normalized identity of practice-model patient values, and its match keys."""
    identity = identity_from_row(values)
    return identity, match_keys(identity, hasher=hasher)


def identity_key(identity: PatientIdentity, hasher: Hasher) -> str:
    """One key per person as the create lock sees them: first + last name + birth date.

    A missing part is left empty; the lock only serializes creates, the match rules decide
    whether two are one person, so a too-coarse key costs a short wait, never a wrong answer.
    """
    birth = identity.birth.isoformat() if identity.birth else ""
    message = "\x1f".join(("create-lock", identity.first, identity.last, birth))
    return hasher(message.encode()).hex()


def duplicate_fingerprint(app_id: int, patient_ids: Iterable[str]) -> str:
    """The same group of DrChrono patients always gives the same review."""
    return _digest("duplicate_in_drchrono", str(app_id), *sorted(set(patient_ids)))


def inbound_fingerprint(app_id: int, keys: Iterable[MatchKey], matched: Iterable[str]) -> str:
    """The same inbound identity against the same patients gives the same review."""
    hexes = sorted(k.key.hex() for k in keys)
    return _digest("inbound", str(app_id), *hexes, "|", *sorted(set(matched)))


def exact_rules(rules: Iterable[str]) -> tuple[str, ...]:
    """The rules that made a match exact (the possible ones that also matched add nothing)."""
    found = set(rules)
    return tuple(r.name for r in RULES if r.kind is MatchKind.EXACT and r.name in found)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
