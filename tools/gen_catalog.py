"""Generate the checked-in catalog from DrChrono's OpenAPI document.

    python tools/gen_catalog.py          # rewrite catalog/_generated.py and catalog/schemas.json
    python tools/gen_catalog.py --check  # exit 1 when the checked-in files are out of date

The document is `spec/drchrono-openapi-v4-hunt-valley.yml` (a copy of
`../shared/reference/`, see spec/*.SOURCE.txt); `chronobridge.catalog._overlay` corrects it first.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from chronobridge.catalog import _overlay  # noqa: E402
from chronobridge.catalog._model import Kind, Operation, Param  # noqa: E402

SPEC = ROOT / "spec" / "drchrono-openapi-v4-hunt-valley.yml"
CATALOG_DIR = ROOT / "src" / "chronobridge" / "catalog"
GENERATED = CATALOG_DIR / "_generated.py"
SCHEMAS = CATALOG_DIR / "schemas.json"

Doc = dict[str, Any]


def load_document(path: Path = SPEC) -> Doc:
    with path.open(encoding="utf-8") as handle:
        document: Doc = yaml.safe_load(handle)
    return _overlay.patch_document(document)


def extract(doc: Doc) -> tuple[list[Operation], dict[str, Any]]:
    schemas: dict[str, Any] = dict(doc["components"]["schemas"])
    operations = []
    for path, item in sorted(doc["paths"].items()):
        for method in _overlay.HTTP_METHODS:
            if method in item:
                operations.append(_operation(path, method, item[method], schemas))
    names = [o.name for o in operations]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise SystemExit(f"duplicate operation names: {sorted(duplicates)}")
    return operations, schemas


def _operation(path: str, method: str, spec: Doc, schemas: dict[str, Any]) -> Operation:
    resource, action = _resource_and_action(path)
    kind = _kind(path, method, spec, action)
    params = _params(spec, kind, schemas)
    status = min(int(c) for c in spec["responses"] if c[0] in "23")
    paginated = kind is Kind.LIST and _overlay._paginated(spec)
    return Operation(
        name=spec["operationId"],
        resource=resource,
        kind=kind,
        method=method.upper(),
        path=path,
        summary=" ".join((spec.get("description") or "").split())[:400],
        action=action,
        scopes=_scopes(spec),
        permissions=tuple(spec.get("x-permissions") or ()),
        practice_access=(spec.get("x-practice-access") or "").replace('"', ""),
        params=params,
        schema=_response_schema(spec, status),
        body_schema=_body_schema(spec, kind, schemas),
        body_media=tuple(spec.get("requestBody", {}).get("content", {}) or ("application/json",)),
        response_media=next(iter(spec["responses"][str(status)].get("content") or {}), "")
        or "application/json",
        success_status=status,
        paginated=paginated,
        since_param=_since_param(params, kind),
        page_size_default=_page_default(path, kind, paginated),
        page_size_max=_page_max(path, kind, paginated),
        verbose_page_size_max=_verbose_max(path, params) if paginated else None,
        required_one_of=_overlay.REQUIRED_ONE_OF.get((method, path), ()),
        id_type=_id_type(params),
        source="overlay" if path in _overlay.OVERLAY_PATHS else "document",
    )


def _resource_and_action(path: str) -> tuple[str, str | None]:
    parts = path.removeprefix("/api/").split("/")
    if len(parts) == 3:
        return parts[0], parts[2]
    if len(parts) == 2 and parts[1] != "{id}":
        return parts[0], parts[1]
    return parts[0], None


def _kind(path: str, method: str, spec: Doc, action: str | None) -> Kind:
    if action is not None:
        return Kind.ACTION
    if path.endswith("/{id}"):
        return {"get": Kind.GET, "put": Kind.UPDATE, "patch": Kind.PATCH}.get(method, Kind.DELETE)
    if _is_batch(path, method, spec):
        return Kind.BATCH_SUBMIT if method == "post" else Kind.BATCH_FETCH
    if method == "get" and _overlay._paginated(spec):
        return Kind.LIST
    if method == "post" and path not in _overlay.OVERLAY_PATHS and "yellow_notepad" not in path:
        return Kind.CREATE
    return Kind.ACTION


def _is_batch(path: str, method: str, spec: Doc) -> bool:
    if not path.endswith("_list"):
        return False
    if method == "get":
        return any(p["name"] == "uuid" for p in spec.get("parameters", []))
    schema = _json_schema(spec, "201") or {}
    return "uuid" in schema.get("properties", {})


def _json_schema(spec: Doc, status: str) -> Doc | None:
    content = spec["responses"].get(status, {}).get("content") or {}
    media = content.get("application/json") or {}
    schema: Doc | None = media.get("schema")
    return schema


def _ref_name(schema: Doc | None) -> str | None:
    if not schema:
        return None
    ref = schema.get("$ref") or (schema.get("items") or {}).get("$ref")
    if ref is None and "results" in schema.get("properties", {}):
        ref = schema["properties"]["results"].get("items", {}).get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def _response_schema(spec: Doc, status: int) -> str | None:
    return _ref_name(_json_schema(spec, str(status)))


def _body_schema(spec: Doc, kind: Kind, schemas: dict[str, Any]) -> str | None:
    body = spec.get("requestBody")
    if body:
        schema = next(iter(body["content"].values()))["schema"]
        name = _ref_name(schema)
        if name:
            return name
        inline = f"{spec['operationId']}.body"
        schemas[inline] = schema
        return inline
    if kind in (Kind.CREATE, Kind.UPDATE, Kind.PATCH):
        return _ref_name(_json_schema(spec, "201") or _json_schema(spec, "200")) or None
    return None


def _params(spec: Doc, kind: Kind, schemas: dict[str, Any]) -> tuple[Param, ...]:
    body_fields: set[str] = set()
    if kind in (Kind.CREATE, Kind.UPDATE, Kind.PATCH):
        body = _body_schema(spec, kind, schemas)
        body_fields = set(schemas.get(body or "", {}).get("properties", {}))
    out = []
    for raw in spec.get("parameters", []):
        if raw["in"] == "query" and raw["name"] in body_fields:
            continue  # the document repeats serializer fields as query parameters
        schema = raw.get("schema") or {}
        out.append(
            Param(
                name=raw["name"],
                location=raw["in"],
                type=_TYPE_ALIASES.get(schema.get("type", "string"), schema.get("type", "string")),
                required=bool(raw.get("required")),
                minimum=schema.get("minimum"),
                maximum=schema.get("maximum"),
                enum=tuple(str(v) for v in schema.get("enum", ())),
                description=" ".join(
                    (raw.get("description") or schema.get("description") or "").split()
                )[:200],
            )
        )
    return tuple(out)


_TYPE_ALIASES = {"bool": "boolean", "int": "integer", "str": "string"}


def _scopes(spec: Doc) -> tuple[str, ...]:
    scopes: list[str] = []
    for security in spec.get("security") or []:
        for values in security.values():
            scopes.extend(v for v in values if v not in scopes)
    return tuple(scopes)


def _since_param(params: tuple[Param, ...], kind: Kind) -> str | None:
    if kind not in (Kind.LIST, Kind.BATCH_SUBMIT):
        return None
    names = {p.name for p in params}
    return next((n for n in ("since", "updated_since") if n in names), None)


def _page_default(path: str, kind: Kind, paginated: bool) -> int | None:  # noqa: FBT001
    if kind is Kind.BATCH_SUBMIT:
        return _batch_max(path)
    return _overlay.PAGE_SIZE_DEFAULT if paginated else None


def _page_max(path: str, kind: Kind, paginated: bool) -> int | None:  # noqa: FBT001
    if kind is Kind.BATCH_SUBMIT:
        return _batch_max(path)
    return _overlay.PAGE_SIZE_MAX if paginated else None


def _batch_max(path: str) -> int:
    return _overlay.BATCH_PAGE_SIZE_MAX_BY_PATH.get(path, _overlay.BATCH_PAGE_SIZE_MAX)


def _verbose_max(path: str, params: tuple[Param, ...]) -> int | None:
    if not any(p.name == "verbose" for p in params):
        return None
    return _overlay.VERBOSE_PAGE_SIZE_MAX_BY_PATH.get(path, _overlay.VERBOSE_PAGE_SIZE_MAX)


def _id_type(params: tuple[Param, ...]) -> str:
    for param in params:
        if param.location == "path" and param.name == "id":
            return "string" if param.type == "string" else "integer"
    return "integer"


# --- rendering --------------------------------------------------------------------------------

HEADER = '''"""GENERATED by tools/gen_catalog.py from spec/drchrono-openapi-v4-hunt-valley.yml.

Do not edit.

One line per operation of DrChrono's API v4, corrected by `_overlay.py`.
"""

from chronobridge.catalog._model import Kind, Operation, Param

OPERATIONS: tuple[Operation, ...] = (
'''


def render(operations: list[Operation]) -> str:
    lines = [HEADER]
    lines.extend(f"    {_literal(op)},\n" for op in operations)
    lines.append(")\n")
    return "".join(lines)


def _literal(value: Operation | Param) -> str:
    fields = []
    for spec in dataclasses.fields(value):
        current = getattr(value, spec.name)
        if spec.default is not dataclasses.MISSING and current == spec.default:
            continue
        fields.append(f"{spec.name}={_value(current)}")
    return f"{type(value).__name__}({', '.join(fields)})"


def _value(value: Any) -> str:
    if isinstance(value, Kind):
        return f"Kind.{value.name}"
    if isinstance(value, Param):
        return _literal(value)
    if isinstance(value, tuple):
        inner = ", ".join(_value(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def render_schemas(schemas: dict[str, Any]) -> str:
    return json.dumps(schemas, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the files are stale")
    parser.add_argument("--spec", type=Path, default=SPEC)
    args = parser.parse_args()
    operations, schemas = extract(load_document(args.spec))
    outputs = {GENERATED: render(operations), SCHEMAS: render_schemas(schemas)}
    if args.check:
        stale = [p for p, text in outputs.items() if not p.exists() or p.read_text() != text]
        for path in stale:
            print(f"out of date: {path.relative_to(ROOT)}; run `make catalog`", file=sys.stderr)
        return 1 if stale else 0
    for path, text in outputs.items():
        path.write_text(text, encoding="utf-8")
    print(f"{len(operations)} operations on {len({o.path for o in operations})} paths written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
