"""`resolve`: every catalog operation is found from METHOD and a concrete path; bad input gets a
sentence that never repeats what could be a name or a token."""

from __future__ import annotations

from pathlib import Path

import pytest

from chronobridge.catalog import CATALOG, Operation
from chronobridge.connections import parse_body, parse_pairs, resolve
from chronobridge.errors import InvalidRequest


def _concrete(op: Operation) -> str:
    return op.path.replace("{id}", "4321")


@pytest.mark.parametrize("op", CATALOG.operations, ids=lambda op: op.name)
def test_every_operation_resolves_from_its_concrete_path(op: Operation) -> None:
    target = resolve(op.method.lower(), _concrete(op))
    assert target.operation == op
    assert target.id == ("4321" if op.is_item else None)


def test_a_path_may_leave_out_api_and_carry_a_query() -> None:
    target = resolve("GET", "patients?last_name=Doe&page_size=5")
    assert target.operation.name == "patients_list"
    assert target.query == {"last_name": "Doe", "page_size": "5"}


def test_the_literal_path_wins_over_an_item() -> None:
    assert resolve("GET", "/api/users/current").operation.name == "users_current"


def test_a_method_the_path_lacks_names_the_ones_it_has() -> None:
    with pytest.raises(InvalidRequest, match=r"/api/patients/\{id\} does not accept POST; "):
        resolve("POST", "/api/patients/12")


def test_an_unknown_path_is_repeated_without_its_unknown_parts() -> None:
    with pytest.raises(InvalidRequest) as refused:
        resolve("GET", "/api/Jane Doe/secret-token-value")
    assert str(refused.value) == "No DrChrono operation answers GET /api/{?}/{?}"


def test_an_unknown_method_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="GET, POST, PUT, PATCH, DELETE"):
        resolve("FETCH", "/api/patients")


def test_pairs_need_a_name_and_an_equals_sign() -> None:
    assert parse_pairs(["a=1", "b=x=y", "c="], option="--param") == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(InvalidRequest, match="--param takes NAME=VALUE"):
        parse_pairs(["secret-value"], option="--param")


def test_a_body_that_is_not_json_is_refused_without_its_content(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_body('{"last_name": "Doe"')
    assert "Doe" not in str(refused.value)
    body = tmp_path / "body.json"
    body.write_text('{"first_name": "Ann"}')
    assert parse_body(f"@{body}") == {"first_name": "Ann"}
    with pytest.raises(InvalidRequest, match="Cannot read the JSON file"):
        parse_body(f"@{tmp_path / 'missing.json'}")
    assert parse_body(None) is None
