"""Natural-language documentation of each function, derived from the OpenAPI spec by code.

In: a spec. Out: one ``FunctionDoc`` per operation (name, method, path, description, parameters,
output text) and the NL documentation text the agents read, in the ToolAlpaca layout::

    searchBooks: Search books by title or author.
    Parameters: {"query": "Required. string. Words to search for.", "language": "Optional. string. One of: [en, fr]. Language."}
    Output: Matching books.
     - Format: application/json
     - Structure: Object{results: Array[Object{bookId, title}]}

Component schemas referenced by several operations are written once, in a final ``components`` block,
and appear by name in the structures.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from schemas.ids import content_id
from schemas.records import FunctionDoc
from tasks.documentation.openapi_refs import deref, pointer_get
from tasks.documentation.spec_lint import body_properties, iter_operations, operation_parameters, success_responses

MAX_STRUCTURE_DEPTH = 6


def _type_text(spec: Any, schema: Any) -> str:
    schema, name = deref(spec, schema)
    if not isinstance(schema, dict):
        return name or "any"
    t = schema.get("type")
    if t == "array":
        return f"array[{_type_text(spec, schema.get('items'))}]"
    if isinstance(t, str):
        return t
    if isinstance(t, list):
        return "|".join(map(str, t))
    if "properties" in schema:
        return "object"
    return name or "any"


def _param_entry(spec: Any, name: str, location: str, required: bool, schema: Any, description: str) -> dict[str, Any]:
    resolved, _ = deref(spec, schema)
    enum = resolved.get("enum") if isinstance(resolved, dict) and isinstance(resolved.get("enum"), list) else None
    return {
        "name": name, "location": location, "required": bool(required), "type": _type_text(spec, schema),
        "enum": enum, "description": " ".join(str(description or "").split()),
    }


def _param_text(p: dict[str, Any]) -> str:
    bits = ["Required" if p["required"] else "Optional", p["type"]]
    if p["enum"]:
        bits.append("One of: [" + ", ".join(str(v) for v in p["enum"]) + "]")
    if p["description"]:
        bits.append(p["description"].rstrip("."))
    return ". ".join(bits) + "."


def structure(spec: Any, schema: Any, components: set[str], depth: int = 0) -> str:
    """Compact structure text: ``Object{id, items: Array[Object{name, price}]}``."""
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in components:
            return name
    schema, ref_name = deref(spec, schema)
    if not isinstance(schema, dict) or depth > MAX_STRUCTURE_DEPTH:
        return ref_name or "Any"
    t = schema.get("type")
    if t == "array":
        return f"Array[{structure(spec, schema.get('items'), components, depth + 1)}]"
    props = schema.get("properties")
    if t == "object" or isinstance(props, dict):
        if not isinstance(props, dict) or not props:
            return "Object"
        parts = []
        for key, sub in props.items():
            inner = structure(spec, sub, components, depth + 1)
            parts.append(key if inner in ("string", "integer", "number", "boolean", "Any", "null") else f"{key}: {inner}")
        return "Object{" + ", ".join(parts) + "}"
    for key in ("oneOf", "anyOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return " | ".join(structure(spec, s, components, depth + 1) for s in schema[key][:3])
    return str(t) if isinstance(t, str) else "Any"


def _shared_components(spec: Any) -> set[str]:
    """Component schemas referenced from more than one place (listed once, by name)."""
    comps = pointer_get(spec, "#/components/schemas")
    if not isinstance(comps, dict):
        return set()
    counts: dict[str, int] = {}
    text = json.dumps(spec.get("paths", {}), default=str)
    for name in comps:
        counts[name] = text.count(f'"#/components/schemas/{name}"')
    return {n for n, c in counts.items() if c > 1}


def derive_functions(spec: Any) -> list[FunctionDoc]:
    """One ``FunctionDoc`` per operation with an operationId (operations without one are skipped); its IDs
    are empty until ``function_records`` gives them a doc."""
    components = _shared_components(spec)
    out = []
    for path, method, op, item in iter_operations(spec):
        name = op.get("operationId")
        if not isinstance(name, str) or not name:
            continue
        description = " ".join(str(op.get("summary") or op.get("description") or "").split())
        params = [
            _param_entry(spec, p["name"], str(p.get("in", "query")), p.get("required", False) or p.get("in") == "path",
                         p.get("schema"), p.get("description", ""))
            for p in operation_parameters(spec, op, item)
        ]
        params += [_param_entry(spec, prop, "body", required, sub, desc) for prop, sub, required, desc in body_properties(spec, op)]
        output = _output_text(spec, op, components)
        param_json = json.dumps({p["name"]: _param_text(p) for p in params}, ensure_ascii=False)
        nl = f"{name}: {description}\nParameters: {param_json}\nOutput: {output}"
        out.append(FunctionDoc("", "", "", name, method, path, description, params, output, nl))
    return out


def function_records(doc_id: str, api_id: str, infos: list[FunctionDoc]) -> list[FunctionDoc]:
    """The warehouse records of a doc's functions (IDs: hash of doc, name, method and path)."""
    return [replace(f, function_id=content_id("function", doc_id, f.name, f.method, f.path), doc_id=doc_id, api_id=api_id)
            for f in infos]


def _output_text(spec: Any, op: dict[str, Any], components: set[str]) -> str:
    ok = success_responses(op)
    if not ok:
        return "No successful response is documented."
    code, resp = ok[0]
    resp, _ = deref(spec, resp)
    if not isinstance(resp, dict):
        return "Successful response."
    desc = " ".join(str(resp.get("description") or "Successful response.").split())
    content = resp.get("content") if isinstance(resp.get("content"), dict) else {}
    if not content:
        return desc
    media, media_obj = next(iter(content.items()))
    schema = media_obj.get("schema") if isinstance(media_obj, dict) else None
    return f"{desc}\n - Format: {media}\n - Structure: {structure(spec, schema, components)}"


def nl_documentation(spec: Any, functions: list[FunctionDoc] | None = None) -> str:
    """The whole NL documentation: every function's block, then the shared components once."""
    functions = derive_functions(spec) if functions is None else functions
    blocks = [f.nl_doc for f in functions]
    comps = pointer_get(spec, "#/components/schemas")
    shared = _shared_components(spec)
    if isinstance(comps, dict) and shared:
        lines = ["components:"]
        for name in sorted(shared):
            lines.append(f" - {name}: {structure(spec, comps[name], shared)}")
        blocks.append("\n".join(lines))
    return "\n".join(blocks)
