"""Schemathesis against the emulator on a real socket, with DrChrono's document as corrected by
the catalog's overlay: no generated request, valid or not, gets a server error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from chronobridge.catalog._overlay import patch_document
from support.rest_api import make_state, token
from support.servers import running_server

SPEC = Path(__file__).resolve().parents[2] / "spec" / "drchrono-openapi-v4-hunt-valley.yml"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def document() -> dict[str, Any]:
    """The corrected document, minus what a schema tool cannot read (`security: null`)."""
    raw = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - SafeLoader
    doc = patch_document(raw)
    for item in doc["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("security", []) is None:
                del operation["security"]
    return _fix_types(doc)


TYPE_ALIASES = {"bool": "boolean", "int": "integer", "str": "string"}  # as tools/gen_catalog.py


def _fix_types(node: Any) -> Any:
    if isinstance(node, list):
        return [_fix_types(item) for item in node]
    if not isinstance(node, dict):
        return node
    fixed = {key: _fix_types(value) for key, value in node.items()}
    if isinstance(fixed.get("type"), str):
        fixed["type"] = TYPE_ALIASES.get(fixed["type"], fixed["type"])
    return fixed


schema = schemathesis.openapi.from_dict(document())
schema.config.generation.update(modes=list(GenerationMode))  # valid and invalid requests


@pytest.fixture(scope="module")
def emulator() -> Iterator[dict[str, Any]]:
    from chronobridge.emulator import create_app

    state = make_state(patients=20, appointments=60)
    with running_server(create_app(state=state)) as url:
        yield {"base_url": url, "headers": {"Authorization": f"Bearer {token(state)}"}}


@schema.parametrize()
@settings(
    max_examples=3,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_a_server_error(case: Any, emulator: dict[str, Any]) -> None:
    response = case.call(base_url=emulator["base_url"], headers=emulator["headers"], timeout=10)
    case.validate_response(response, checks=[not_a_server_error])
