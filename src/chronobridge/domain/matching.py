"""Patient matching by deterministic rules over normalized fields, through blind-index keys.

The store never holds names, birth dates, phones or emails in plaintext columns, so matching
works on keys: `match_keys` hashes each rule's normalized parts with a keyed hash the caller
passes in (`hmac_hasher(key)`, the key owned by the store). The store indexes the keys of every
patient, looks candidates up by the keys of a new one, and `decide` compares key sets.

Normalization: names are casefolded, accents, punctuation and spaces removed ("O'Brien-Núñez"
and "obrien nunez" are equal); nicknames are *not* expanded (Bob is not Robert): the phone and
email rules catch most such cases as possible matches. Phones are E.164 digits, emails trimmed
and lower-cased, gender M/F/O (anything else is unknown and never conflicts).

Rules (`RULES`):

| rule               | kind     | parts                                                    |
|--------------------|----------|----------------------------------------------------------|
| name_dob           | exact    | first + last + date of birth                             |
| first_dob_phone    | exact    | first + date of birth + a phone (last name changed)      |
| first_dob_email    | exact    | first + date of birth + email                            |
| dob_phone          | possible | date of birth + a phone (twins share phones: not exact)  |
| dob_email          | possible | date of birth + email                                    |
| last_dob_initial   | possible | last + date of birth + first initial                     |
| name_dob_swapped   | possible | first + last + birth year + {day, month} in either order |
| name_year_month    | possible | first + last + birth year and month (day mistyped)       |
| name_year_day      | possible | first + last + birth year and day (month mistyped)       |
| name_month_day     | possible | first + last + birth month and day (year mistyped)       |

An exact rule is downgraded to possible when both genders are known and differ. Every exact
rule needs the first name, so twins (same birth date and last name, different first names) are
at most a possible match. Two exact candidates are ambiguous: possible, for a person to decide.

A page of patients at once: `matching_page`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from chronobridge.domain import phones

__all__ = [
    "GENDER",
    "RULES",
    "Candidate",
    "Hasher",
    "MatchDecision",
    "MatchKey",
    "MatchKind",
    "PatientIdentity",
    "Rule",
    "decide",
    "hmac_hasher",
    "identity",
    "identity_from_row",
    "lookup_keys",
    "match_keys",
    "normalize_email",
    "normalize_gender",
    "normalize_name",
]

Hasher = Callable[[bytes], bytes]
GENDER = "gender"  # a key kept with each patient to detect conflicts; never used for lookups


class MatchKind(StrEnum):
    EXACT = "exact"
    POSSIBLE = "possible"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    kind: MatchKind
    parts: tuple[str, ...]


_E, _P = MatchKind.EXACT, MatchKind.POSSIBLE
RULES: tuple[Rule, ...] = (
    Rule("name_dob", _E, ("first", "last", "dob")),
    Rule("first_dob_phone", _E, ("first", "dob", "phone")),
    Rule("first_dob_email", _E, ("first", "dob", "email")),
    Rule("dob_phone", _P, ("dob", "phone")),
    Rule("dob_email", _P, ("dob", "email")),
    Rule("last_dob_initial", _P, ("last", "dob", "initial")),
    Rule("name_dob_swapped", _P, ("first", "last", "dob_unordered")),
    Rule("name_year_month", _P, ("first", "last", "year_month")),
    Rule("name_year_day", _P, ("first", "last", "year_day")),
    Rule("name_month_day", _P, ("first", "last", "month_day")),
)
_BY_NAME = {rule.name: rule for rule in RULES}


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientIdentity:
    """The normalized fields matching reads; "" (or empty) means unknown."""

    first: str
    last: str
    birth: date | None
    gender: str = ""
    phones: frozenset[str] = frozenset()
    email: str = ""


@dataclass(frozen=True, slots=True, order=True)
class MatchKey:
    rule: str
    key: bytes

    def __hash__(self) -> int:
        # The digest alone: it already depends on the rule (the rule's name is hashed with the
        # parts), and bytes cache their hash, where a (rule, key) tuple is hashed every time.
        return hash(self.key)

    @property
    def lookup(self) -> bool:
        """Whether the store should search its index with this key (not the gender key)."""
        return self.rule != GENDER


@dataclass(frozen=True, slots=True)
class Candidate:
    """A stored patient the index lookup found, with all of its stored keys."""

    patient_id: str
    keys: frozenset[MatchKey]


@dataclass(frozen=True, slots=True)
class MatchDecision:
    kind: MatchKind
    patient_ids: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()


def normalize_name(text: str | None) -> str:
    """Casefolded, accents, punctuation and spaces removed; idempotent."""
    current = text or ""
    if current.isascii():  # most names: no accents, and upper().casefold() is lower() (tested)
        return "".join(ch for ch in current.lower() if ch.isalnum())
    for _ in range(4):  # a fixpoint, so normalizing twice changes nothing (two passes suffice)
        # upper() first: the dotless i (U+0131) casefolds to itself, its upper case to "i".
        folded = unicodedata.normalize("NFKD", current.upper().casefold())
        cleaned = "".join(ch for ch in folded if ch.isalnum())
        if cleaned == current:
            break
        current = cleaned
    return current


def normalize_email(text: str | None) -> str:
    return (text or "").strip().lower()


def normalize_gender(value: str | None) -> str:
    """M, F or O; "" for unknown, declined or blank (an unknown gender never conflicts)."""
    text = (value or "").strip().upper()
    return {"M": "M", "MALE": "M", "F": "F", "FEMALE": "F", "O": "O", "OTHER": "O"}.get(text, "")


def identity(
    *,
    first_name: str | None,
    last_name: str | None,
    date_of_birth: date | str | None,
    gender: str | None = None,
    phone_numbers: Iterable[str | None] = (),
    email: str | None = None,
    region: str = "US",
) -> PatientIdentity:
    """Normalize raw or mapped patient fields (phones in any format, dates as text or date)."""
    numbers = {phones.e164_digits(p, region=region) for p in phone_numbers if p}
    return PatientIdentity(
        first=normalize_name(first_name),
        last=normalize_name(last_name),
        birth=_birth(date_of_birth),
        gender=normalize_gender(gender),
        phones=frozenset(n for n in numbers if n),
        email=normalize_email(email),
    )


def identity_from_row(values: Mapping[str, Any]) -> PatientIdentity:
    """From the practice model's patient values (`MappedRow.values` of the default mapping)."""
    return identity(
        first_name=values.get("first_name"),
        last_name=values.get("last_name"),
        date_of_birth=values.get("date_of_birth"),
        gender=values.get("gender"),
        phone_numbers=(values.get("phone_home"), values.get("phone_mobile")),
        email=values.get("email"),
    )


def hmac_hasher(secret: bytes) -> Hasher:
    """HMAC-SHA256 with the store's blind-index key (never the encryption key itself).

    The keyed state is made once and copied per message: a dozen keys per patient of every
    page, and `hmac.digest` sets the key up again each time (twice the cost)."""
    if len(secret) < 16:
        raise ValueError("a blind-index key needs at least 16 bytes")
    keyed = hmac.new(secret, digestmod=hashlib.sha256)

    def digest(message: bytes) -> bytes:
        mac = keyed.copy()
        mac.update(message)
        return mac.digest()

    return digest


def match_keys(patient: PatientIdentity, *, hasher: Hasher) -> tuple[MatchKey, ...]:
    """Every rule's key for this patient (a rule with a missing part has none; one per phone)."""
    parts = _parts(patient)
    keys = {
        MatchKey(rule.name, hasher(message)) for rule in RULES for message in _messages(rule, parts)
    }
    if patient.gender:
        keys.add(MatchKey(GENDER, hasher(_message(GENDER, (patient.gender,)))))
    return tuple(sorted(keys, key=_rule_then_key))


def _rule_then_key(key: MatchKey) -> tuple[str, bytes]:
    """MatchKey's own order (its fields in turn), without a dataclass comparison per step."""
    return key.rule, key.key


def lookup_keys(keys: Iterable[MatchKey]) -> tuple[bytes, ...]:
    """The keys to search the store's index with."""
    return tuple(k.key for k in keys if k.lookup)


def decide(incoming: Iterable[MatchKey], candidates: Iterable[Candidate]) -> MatchDecision:
    """Exact when exactly one candidate matches an exact rule without a gender conflict."""
    mine = frozenset(incoming)
    scored = [(c.patient_id, _matched(mine, c.keys), _conflict(mine, c.keys)) for c in candidates]
    scored = [s for s in scored if s[1]]
    exact = [s for s in scored if not s[2] and any(_BY_NAME[r].kind is _E for r in s[1])]
    if len(exact) == 1:
        patient_id, matched, _ = exact[0]
        return MatchDecision(MatchKind.EXACT, (patient_id,), tuple(sorted(matched)))
    if not scored:
        return MatchDecision(MatchKind.NONE)
    ids = tuple(sorted({s[0] for s in scored}))
    rules = tuple(sorted({r for s in scored for r in s[1]}))
    return MatchDecision(MatchKind.POSSIBLE, ids, rules)


def _matched(mine: frozenset[MatchKey], theirs: frozenset[MatchKey]) -> frozenset[str]:
    return frozenset(k.rule for k in mine & theirs if k.rule in _BY_NAME)


def _conflict(mine: frozenset[MatchKey], theirs: frozenset[MatchKey]) -> bool:
    a = {k.key for k in mine if k.rule == GENDER}
    b = {k.key for k in theirs if k.rule == GENDER}
    return bool(a and b and a != b)


def _parts(patient: PatientIdentity) -> dict[str, tuple[str, ...]]:
    single = {"first": patient.first, "last": patient.last, "email": patient.email}
    parts: dict[str, tuple[str, ...]] = {name: (value,) for name, value in single.items() if value}
    if patient.first:
        parts["initial"] = (patient.first[0],)
    if patient.phones:
        parts["phone"] = tuple(sorted(patient.phones))
    birth = patient.birth
    if birth is not None:
        low, high = sorted((birth.month, birth.day))
        parts["dob"] = (birth.isoformat(),)
        parts["dob_unordered"] = (f"{birth.year:04d}/{low:02d}/{high:02d}",)
        parts["year_month"] = (f"{birth.year:04d}-{birth.month:02d}",)
        parts["year_day"] = (f"{birth.year:04d}-*-{birth.day:02d}",)
        parts["month_day"] = (f"*-{birth.month:02d}-{birth.day:02d}",)
    return parts


def _messages(rule: Rule, parts: dict[str, tuple[str, ...]]) -> list[bytes]:
    """`_message(rule, values)` for every combination of the rule's parts (one per phone);
    none when a part is missing."""
    chosen = [parts.get(name, ()) for name in rule.parts]
    return [_message(rule.name, values) for values in itertools.product(*chosen)]


def _message(rule: str, values: tuple[str, ...]) -> bytes:
    return "\x1f".join((rule, *values)).encode()


def _birth(value: date | str | None) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip()[:10]) if value and value.strip() else None
    except ValueError:
        return None
