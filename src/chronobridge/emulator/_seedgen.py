"""Plausible, obviously synthetic field values made from a catalog schema.

Names, types and enums of the schema decide the value: references point at seeded records,
dates are dates, phones are (area) 555-01xx, e-mail addresses end in @example.test, free text
comes from a small word list. Deterministic for a given `random.Random`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from chronobridge.catalog import CATALOG
from chronobridge.emulator._references import BY_NAME, seeded

WORDS = (
    "alpha", "bravo", "cedar", "delta", "ember", "fjord", "grove", "harbor", "iris", "juniper",
    "kestrel", "lumen", "maple", "nimbus", "orchid", "pebble", "quill", "river", "sable", "tundra",
)  # fmt: skip
FIRST_NAMES = (
    "Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Harper", "Jules", "Kai", "Logan",
    "Morgan", "Noel", "Parker", "Quinn", "Reese", "Sage", "Tatum", "Val",
)  # fmt: skip
LAST_NAMES = (
    "Testwood", "Samplesson", "Mockley", "Fakington", "Placeholder", "Dummond", "Exampleton",
    "Stubworth", "Fixturo", "Seedling", "Specimen", "Trialson",
)  # fmt: skip

AREA_CODES = ("217", "312", "309", "618", "773")

SKIP = frozenset({"id", "created_at", "updated_at"})
TIME_NAMES = frozenset({"start_time", "end_time"})


class Maker:
    """Values for one seeded practice; `refs` holds the ids already seeded per table."""

    def __init__(
        self, rng: random.Random, *, today: date, refs: Mapping[str, list[int]], practice: int
    ) -> None:
        self.rng = rng
        self.today = today
        self.refs = refs
        self.practice = practice

    def record(self, schema: str) -> dict[str, Any]:
        props: dict[str, Any] = CATALOG.schemas.get(schema, {}).get("properties", {})
        refs = seeded(schema)
        record = {
            name: self.value(name, prop, refs) for name, prop in props.items() if name not in SKIP
        }
        return _ends_after_start(record)

    def value(self, name: str, prop: Mapping[str, Any], refs: Mapping[str, str] = BY_NAME) -> Any:
        kind = str(prop.get("type") or "")
        if name in refs and (kind in ("integer", "number") or _textual_ref(name, kind)):
            return self.reference(refs[name], kind)
        if name == "practice_group":
            return self.practice if kind == "integer" else str(self.practice)
        if prop.get("enum") and kind != "array":
            options = [v for v in prop["enum"] if v not in ("", None)] or list(prop["enum"])
            return self.rng.choice(options)
        maker = _BY_TYPE.get(kind)
        return maker(self, name, prop) if maker else None

    def sparse(self, schema: str, keep: frozenset[str]) -> dict[str, Any]:
        """A record like DrChrono's: the `keep` fields filled, the other text fields empty."""
        props: dict[str, Any] = CATALOG.schemas.get(schema, {}).get("properties", {})
        record = self.record(schema)
        for name in record.keys() - keep:
            kind = props[name].get("type")
            empty = {"string": "", "array": [], "boolean": False}.get(kind or "")
            record[name] = None if props[name].get("format") or _is_date(name, {}) else empty
        return record

    def reference(self, table: str, kind: str) -> int | str | None:
        ids = self.refs.get(table) or []
        if not ids:
            return None
        chosen = self.rng.choice(ids)
        return str(chosen) if kind == "string" else chosen

    def day(self, *, back: int = 730, ahead: int = 0) -> date:
        return self.today + timedelta(days=self.rng.randint(-back, ahead))

    def moment(self) -> str:
        hour, minute = self.rng.randint(8, 17), self.rng.choice((0, 15, 30, 45))
        start = datetime.combine(self.day(), datetime.min.time())
        return (start + timedelta(hours=hour, minutes=minute)).isoformat(timespec="seconds")

    def words(self, count: int = 2) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(count))

    def phone(self) -> str:
        # 555-0100..0199 is reserved for fiction in every North American area code.
        return f"({self.rng.choice(AREA_CODES)}) 555-01{self.rng.randint(0, 99):02d}"

    def _string(self, name: str, prop: Mapping[str, Any]) -> str:
        for test, make in _STRING_RULES:
            if test(name, prop):
                return str(make(self, name))
        return self.words(2).capitalize()

    def _integer(self, name: str, _prop: Mapping[str, Any]) -> int:
        return {"exam_room": 1, "duration": 30, "sort_order": 1}.get(name) or self.rng.randint(
            1, 20
        )

    def _number(self, _name: str, _prop: Mapping[str, Any]) -> float:
        return round(self.rng.uniform(5, 400), 2)

    def _boolean(self, _name: str, _prop: Mapping[str, Any]) -> bool:
        return self.rng.random() < 0.25

    def _array(self, name: str, prop: Mapping[str, Any]) -> list[Any]:
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        kind = (items or {}).get("type")
        if kind == "object" and (items or {}).get("properties"):
            return [self._object(name, items or {})]
        if kind in ("string", "integer", "number", "boolean"):
            return [self.value(name.rstrip("s"), {"type": kind})]
        return []

    def _object(self, _name: str, prop: Mapping[str, Any]) -> dict[str, Any]:
        props: dict[str, Any] = prop.get("properties") or {}
        return {k: self.value(k, p) for k, p in props.items() if k not in SKIP}


def _textual_ref(name: str, kind: str) -> bool:
    return kind == "string" and name != "document"  # a scanned document's `document` is a URL


def _is_date(name: str, _prop: Mapping[str, Any]) -> bool:
    return name == "date" or name.startswith("date_") or name.endswith(("_date", "_on"))


def _ends_after_start(record: dict[str, Any]) -> dict[str, Any]:
    """A block of time (a schedule block's ISO moments) ends 30 minutes after it starts, as the
    emulator's validation requires of a write."""
    start = record.get("start_time")
    if isinstance(start, str) and "T" in start and isinstance(record.get("end_time"), str):
        end = datetime.fromisoformat(start) + timedelta(minutes=30)
        record["end_time"] = end.isoformat(timespec="seconds")
    return record


def _is_moment(name: str, prop: Mapping[str, Any]) -> bool:
    timed = name.endswith(("_at", "_time", "timestamp")) or name == "administration_start"
    return prop.get("format") == "date-time" or (timed and name not in TIME_NAMES)


_STRING_RULES: tuple[tuple[Any, Any], ...] = (
    (lambda n, _p: "email" in n, lambda m, _n: f"{m.rng.choice(WORDS)}@example.test"),
    (lambda n, _p: "phone" in n or "fax" in n, lambda m, _n: m.phone()),
    (_is_date, lambda m, _n: m.day().isoformat()),
    (_is_moment, lambda m, _n: m.moment()),
    (lambda n, _p: n in TIME_NAMES, lambda _m, n: "08:00:00" if n == "start_time" else "17:00:00"),
    (lambda n, _p: "color" in n, lambda m, _n: f"#{m.rng.randint(0, 0xFFFFFF):06X}"),
    (lambda n, _p: "zip" in n, lambda m, _n: f"627{m.rng.randint(0, 99):02d}"),
    (lambda n, _p: n.endswith("state"), lambda _m, _n: "IL"),
    (lambda n, _p: n in ("first_name",), lambda m, _n: m.rng.choice(FIRST_NAMES)),
    (lambda n, _p: n in ("last_name",), lambda m, _n: m.rng.choice(LAST_NAMES)),
    (
        lambda n, p: n in ("uri", "url", "website", "pdf") or p.get("format") == "binary",
        lambda m, n: f"https://files.emulator.invalid/{n}/{m.rng.randint(1000, 9999)}.pdf",
    ),
    (
        lambda n, _p: n.endswith(("code", "number", "_id")),
        lambda m, _n: str(m.rng.randint(1000, 99999)),
    ),
)

_BY_TYPE: dict[str, Any] = {
    "string": Maker._string,
    "integer": Maker._integer,
    "number": Maker._number,
    "boolean": Maker._boolean,
    "array": Maker._array,
    "object": Maker._object,
}
