"""Practice-model values between JSON (files, the outbox, review payloads) and Python types.

Mapped rows hold dates as `date` and times as aware UTC `datetime`; the reverse mapping needs
them so. JSON holds text. Which fields are dates or times is read from the mapping itself (the
field's `date`, `datetime_local_to_utc` and `end_time_from_duration` transforms), so a custom
mapping's fields convert without code. Errors name the model, the field and the rule, never
the value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from chronobridge.domain.mappings import CompiledMapping, FieldSpec
from chronobridge.errors import MappingError

__all__ = ["decode_values", "encode_values", "model_values"]

_DATE, _TIME = "date", "datetime"
_KIND_OF = {"date": _DATE, "datetime_local_to_utc": _TIME, "end_time_from_duration": _TIME}


def model_values(mapping: CompiledMapping, model: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Typed model values from JSON-like input; unknown fields are refused by name."""
    kinds = {spec.target: _kind(spec) for spec in mapping.model(model).spec.fields}
    unknown = sorted(set(raw) - set(kinds))
    if unknown:
        raise MappingError(
            f"{model}: no field named {', '.join(unknown)} in the mapping (rule: field)",
            model=model,
            field=unknown[0],
            rule="field",
        )
    return {name: _coerce(model, name, kinds[name], value) for name, value in raw.items()}


def encode_values(values: Mapping[str, Any]) -> str:
    """JSON text; dates and times as ISO 8601 (times keep their offset)."""
    return json.dumps(dict(values), sort_keys=True, separators=(",", ":"), default=_iso)


def decode_values(mapping: CompiledMapping, model: str, text: str) -> dict[str, Any]:
    loaded = json.loads(text)
    if not isinstance(loaded, dict):
        raise MappingError(f"{model}: stored values are not an object (rule: field)", model=model)
    return model_values(mapping, model, loaded)


def _kind(spec: FieldSpec) -> str:
    kinds = [_KIND_OF[call.name] for call in spec.transforms if call.name in _KIND_OF]
    return kinds[-1] if kinds else ""


def _coerce(model: str, name: str, kind: str, value: Any) -> Any:
    if value is None or not kind or (isinstance(value, date | datetime) and _fits(kind, value)):
        return value
    try:
        return _parse(kind, value)
    except (TypeError, ValueError):
        pass
    wanted = "a date YYYY-MM-DD" if kind == _DATE else "a date and time with its UTC offset"
    raise MappingError(
        f"{model}.{name}: expected {wanted} (rule: {kind})", model=model, field=name, rule=kind
    )


def _fits(kind: str, value: date) -> bool:
    if kind == _DATE:
        return not isinstance(value, datetime)
    return isinstance(value, datetime) and value.utcoffset() is not None


def _parse(kind: str, value: Any) -> date | datetime:
    if not isinstance(value, str):
        raise TypeError("not text")
    if kind == _DATE:
        return date.fromisoformat(value.strip())
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.utcoffset() is None:
        raise ValueError("a time without its offset is ambiguous")
    return parsed


def _iso(value: Any) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
