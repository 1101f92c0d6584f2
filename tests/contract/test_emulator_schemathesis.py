"""Schemathesis against the emulator on a real socket, with DrChrono's document as corrected by
the catalog's overlay. For every operation, valid and invalid generated requests:

* never a server error;
* only status codes the document lists (the overlay adds the standard 400, 401, 403, 404, 405,
  429 and 500, 204 for item writes and 409 where DrChrono answers it);
* a Content-Type the document lists for that status;
* a body that fits the documented schema of that status (2xx bodies: envelopes and objects).

Where DrChrono's own document is wrong about a response field, recorded traffic and the facts
file win, and only that field of the document is corrected below (`CORRECTIONS`), with the
reason; nothing else is excluded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from chronobridge.catalog._overlay import patch_document
from support.rest_api import make_state, token
from support.servers import running_server

SPEC = Path(__file__).resolve().parents[2] / "spec" / "drchrono-openapi-v4-hunt-valley.yml"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
EXAMPLES = 8  # per operation: 330 operations, about 2,600 requests; under a minute on 2 cores
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ROOM = {"type": "object", "properties": {"index": {"type": "integer"}}}
# Response fields where the document is wrong and the emulator follows recorded traffic (facts
# §7, §8; the same list as `support.rest_api.DOCUMENT_ERRORS`, in OpenAPI 3.0 form):
CORRECTIONS: dict[str, dict[str, dict[str, Any]]] = {
    "Office": {
        # Recorded: a list of room objects and the doctor's integer id (document: strings).
        "exam_rooms": {"type": "array", "items": ROOM, "nullable": True, "readOnly": True},
        "doctor": {"type": "integer", "nullable": True, "readOnly": True},
    },
    # Recorded: the practice group's integer id (document: a string).
    "Doctor": {"practice_group": {"type": "integer", "nullable": True, "readOnly": True}},
    # The document's enum for this array is [["string"]], an artefact of its generator.
    "Patient": {
        "preferred_pharmacies": {"type": "array", "items": {"type": "string"}, "nullable": True}
    },
    # Facts §8: DrChrono's timestamps carry no offset ("2020-03-26T13:58:21"), which RFC 3339's
    # date-time (the document's format for these two) requires; the text is ISO 8601 all the same.
    "ScheduleBlock": {
        "start_time": {"type": "string", "nullable": True},
        "end_time": {"type": "string", "nullable": True},
    },
}


def document() -> dict[str, Any]:
    """The corrected document, minus what a schema tool cannot read (`security: null`)."""
    raw = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - SafeLoader
    doc = patch_document(raw)
    for item in doc["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("security", []) is None:
                del operation["security"]
    schemas = doc["components"]["schemas"]
    for name, fields in CORRECTIONS.items():
        for field, corrected in fields.items():
            schemas[name]["properties"][field] = {**schemas[name]["properties"][field], **corrected}
            schemas[name]["properties"][field].pop("format", None)
            schemas[name]["properties"][field].pop("enum", None)
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
    with running_server(create_app(state=state)) as url, requests.Session() as session:
        headers = {"Authorization": f"Bearer {token(state)}"}
        yield {"base_url": url, "headers": headers, "session": session}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_every_operation_answers_as_documented(case: Any, emulator: dict[str, Any]) -> None:
    response = case.call(
        base_url=emulator["base_url"],
        headers=emulator["headers"],
        session=emulator["session"],  # keep-alive: one connection for the whole module
        timeout=10,
    )
    case.validate_response(response, checks=CHECKS, headers=emulator["headers"])
