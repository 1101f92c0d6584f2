"""Every plan reads the largest page its operations allow, from the catalog (batch included)."""

from __future__ import annotations

import pytest

from chronobridge.catalog import CATALOG, Kind
from chronobridge.sync import plan_for, syncable
from chronobridge.sync._sources import batch_page_size


def _submit_max(resource: str) -> int | None:
    batch = CATALOG.resources[resource].batch
    submit = CATALOG.resources[batch].op(Kind.BATCH_SUBMIT) if batch else None
    return None if submit is None else submit.page_size_max


@pytest.mark.parametrize("name", syncable())
def test_each_plan_uses_the_largest_pages_the_catalog_allows(name: str) -> None:
    plan = plan_for(name)
    listing = CATALOG.resources[name].op(Kind.LIST)
    assert listing is not None
    assert plan.page_size == (listing.page_size_max or listing.page_size_default or 250)
    assert plan.batch_page_size == _submit_max(name)
    assert plan.batch is (plan.batch_page_size is not None)


def test_batch_pages_are_read_from_the_catalog_not_fixed() -> None:
    assert batch_page_size("clinical_note_field_values") == 20_000
    assert batch_page_size("patients") == 1000
    with pytest.raises(KeyError):
        batch_page_size("appointments")  # no batch endpoint


def test_every_resource_with_a_batch_endpoint_uses_it_with_or_without_since() -> None:
    batched = {n for n in syncable() if plan_for(n).batch}
    with_batch = {n for n in syncable() if CATALOG.resources[n].batch}
    assert batched == with_batch
    assert "eligibility_checks" in batched  # its list has no `since`; its batch is still 4x
