"""Every catalog operation described as an action: what automations, the CLI and docs list.

An action's input schema is one JSON Schema object with three parts: `path` (the id of the
item), `query` (filters and flags) and `body` (the resource's fields, `$ref`s resolved, read-only
fields left out).
"""

from __future__ import annotations

from typing import Any

from chronobridge.catalog._model import Kind, Operation, Param

JsonSchema = dict[str, Any]

_WRITE_BODY_KINDS = frozenset({Kind.CREATE, Kind.UPDATE, Kind.PATCH})


def action_spec(op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    """The public description of one operation."""
    return {
        "name": op.name,
        "resource": op.resource,
        "operation": op.action or op.kind.value,
        "kind": op.kind.value,
        "method": op.method,
        "path": op.path,
        "summary": op.summary,
        "scopes": list(op.scopes),
        "permissions": list(op.permissions),
        "input_schema": input_schema(op, schemas),
    }


def input_schema(op: Operation, schemas: dict[str, Any]) -> JsonSchema:
    properties: dict[str, JsonSchema] = {}
    required: list[str] = []
    path = _params_schema(p for p in op.params if p.location == "path")
    if path["properties"]:
        properties["path"] = path
        required.append("path")
    properties["query"] = _params_schema(p for p in op.params if p.location == "query")
    if op.body_schema:
        properties["body"] = _body_schema(op, schemas)
        if op.kind in (Kind.CREATE, Kind.UPDATE):
            required.append("body")
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _params_schema(params: Any) -> JsonSchema:
    properties: dict[str, JsonSchema] = {}
    required = []
    for param in params:
        properties[param.name] = _param_schema(param)
        if param.required:
            required.append(param.name)
    return {"type": "object", "properties": properties, "required": required}


def _param_schema(param: Param) -> JsonSchema:
    schema: JsonSchema = {"type": param.type}
    if param.minimum is not None:
        schema["minimum"] = param.minimum
    if param.maximum is not None:
        schema["maximum"] = param.maximum
    if param.enum:
        schema["enum"] = list(param.enum)
    if param.description:
        schema["description"] = param.description
    return schema


def _body_schema(op: Operation, schemas: dict[str, Any]) -> JsonSchema:
    source = schemas.get(op.body_schema or "", {})
    resolved = _resolve(source, schemas, depth=0)
    props = {
        name: prop
        for name, prop in resolved.get("properties", {}).items()
        if not (isinstance(prop, dict) and prop.get("readOnly"))
    }
    body: JsonSchema = {"type": "object", "properties": props}
    if op.kind in _WRITE_BODY_KINDS and op.kind is not Kind.PATCH:
        body["required"] = [n for n in resolved.get("required", []) if n in props]
    return body


def _resolve(node: Any, schemas: dict[str, Any], *, depth: int) -> Any:
    """Inline `$ref`s (bounded: DrChrono's schemas nest a few levels at most)."""
    if isinstance(node, list):
        return [_resolve(item, schemas, depth=depth) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        if depth > 4:
            return {"type": "object"}
        target = schemas.get(node["$ref"].rsplit("/", 1)[-1], {})
        return _resolve(target, schemas, depth=depth + 1)
    return {
        key: _resolve(value, schemas, depth=depth)
        for key, value in node.items()
        if not key.startswith("x-")
    }
