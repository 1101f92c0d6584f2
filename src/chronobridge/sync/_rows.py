"""Mapped rows → the store's model-row writes, and the rows handed to ingest hooks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from chronobridge.domain.mappings import MappedRow
from chronobridge.store import ModelRowWrite
from chronobridge.sync._prepare import Incoming

__all__ = ["StoredModelRow", "row_write", "stored_row"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredModelRow:
    """A practice-model row just written, with its mapped values (for hooks; never logged)."""

    id: int
    app_id: int
    model: str
    external_id: str
    resource: str
    record_id: int
    values: Mapping[str, Any]
    custom: Mapping[str, Any]
    mapping_version: int
    updated_at: datetime | None
    created: bool
    """True when the record was new to the store."""


_LINKS = (
    ("provider_external_id", "provider_id"),
    ("patient_external_id", "patient_id"),
    ("location_external_id", "location_id"),
)


def row_write(item: Incoming, row: MappedRow, record_id: int) -> ModelRowWrite:
    links = {column: _link(row.values.get(name)) for column, name in _LINKS}
    return ModelRowWrite(
        model=row.model,
        external_id=row.external_id[:64],
        resource=row.resource,
        record_id=record_id,
        data=orjson.dumps(row.to_json(), default=str).decode("utf-8"),
        mapping_version=row.mapping_version,
        mapping_digest=row.mapping_digest,
        updated_at=item.write.updated_at,
        **links,
    )


def _link(value: object) -> str | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value)
    return text if text and len(text) <= 64 else None


def stored_row(
    app_id: int,
    row_ids: Mapping[tuple[str, str], int],
    write: ModelRowWrite,
    row: MappedRow,
    *,
    created: bool,
) -> StoredModelRow:
    data = row.to_json()
    return StoredModelRow(
        id=row_ids[(write.model, write.external_id)],
        app_id=app_id,
        model=write.model,
        external_id=write.external_id,
        resource=write.resource,
        record_id=write.record_id,
        values=data["values"],
        custom=data["custom"],
        mapping_version=write.mapping_version,
        updated_at=write.updated_at,
        created=created,
    )
