"""Normalise a published OpenAPI 3.x document into the form the factory reads — repair, don't refuse.

In: a bundled OpenAPI 3.0/3.1 document (not mutated), optionally ToolAlpaca's ``Function_Projection``
(function name → [path, method]) and auth parameter names its ``Authentication`` field gives.
Out: ``Normalised`` — the repaired spec, the auth parameters (kept out of function arguments), and one
``Note`` per repair, assumption or dropped operation (``tasks.documentation.spec_import`` turns them into
``ImportNote`` records). Per operation, never per document: an operation that cannot be made callable
(a ``$ref`` that resolves nowhere) is dropped with its reason; the rest are kept.

Repairs (``kind="repair"``): a path without its leading ``/``; Swagger-2-style ``schema`` in a response
or request body, ``type`` on a parameter, ``in: body`` / ``in: formData`` parameters; ``required: false``
on a path parameter; a path template parameter nobody declared; numbers written as strings in schema
bounds; type lists and ``items`` lists in 3.0 schemas; a missing, invalid or duplicate ``operationId``
(a stable name, the original kept as ``x-original-operation-id``). Assumptions (``kind="assumption"``):
what the executor returns for an operation (``x-toolfactory-result``: json, text, binary or free_form).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from tasks.documentation.openapi_refs import iter_refs, pointer_get
from tasks.documentation.schema_repair import repair_schemas
from tasks.documentation.spec_auth import AuthParam, auth_parameters, is_auth_parameter
from tasks.documentation.spec_lint import HTTP_METHODS
from tasks.documentation.swagger2 import SCHEMA_KEYWORDS
from tasks.documentation.tool_definitions import TOOL_NAME

_TEMPLATE = re.compile(r"\{([^{}]+)\}")
_LOCATIONS = ("query", "header", "path", "cookie")
_RESULT_NOTES = {"text": "returns {media}: the simulated executor answers with the body as text",
                 "binary": "returns {media}: the simulated executor answers with a short description of the file",
                 "free_form": "no result schema (or an object without properties): the simulated executor answers free-form JSON"}


@dataclass
class Note:
    kind: str  # repair | assumption | warning | dropped
    code: str
    where: str  # "GET /path", or "" for the whole document
    detail: str
    function: str = ""


@dataclass
class Normalised:
    spec: dict[str, Any]
    notes: list[Note] = field(default_factory=list)
    auth: list[AuthParam] = field(default_factory=list)
    kept: int = 0
    dropped: int = 0


def normalise(spec: dict[str, Any], projection: dict[str, Any] | None = None, auth_names: list[str] | None = None) -> Normalised:
    """See the module docstring."""
    out = Normalised(copy.deepcopy(spec))
    doc = out.spec
    doc["openapi"] = str(doc.get("openapi") or "3.0.3")
    if not isinstance(doc.get("info"), dict):
        doc["info"] = {"title": "API", "version": "1.0"}
    for code, (n, first) in repair_schemas(doc).items():
        out.notes.append(Note("repair", code, "", f"{n} schema(s) repaired, the first at {str(first)[:200]}"))
    _repair_paths(doc, out.notes)
    out.auth = auth_parameters(doc, auth_names or [])
    names = _projection_names(doc, projection or {}, out.notes)
    taken: set[str] = set(names.values())
    paths = doc.get("paths") if isinstance(doc.get("paths"), dict) else {}
    for path, item in list(paths.items()):
        for method in HTTP_METHODS:
            op = item.get(method) if isinstance(item, dict) else None
            if not isinstance(op, dict):
                continue
            where = f"{method.upper()} {path}"
            problem = _unresolvable(doc, op, item)
            if problem:
                del item[method]
                out.dropped += 1
                out.notes.append(Note("dropped", "ref_unresolved", where, problem, str(op.get("operationId") or "")))
                continue
            _repair_parameters(doc, path, item, op, where, out)
            _repair_bodies(op, where, out.notes)
            name = names.get((path, method)) or _operation_name(op, method, path, taken, where, out.notes)
            if names.get((path, method)) and op.get("operationId") != name:
                if op.get("operationId"):
                    op["x-original-operation-id"] = op["operationId"]
            op["operationId"] = name
            taken.add(name)
            op["x-toolfactory-result"] = result = result_kind(doc, op)
            if result["kind"] != "json":
                out.notes.append(Note("assumption", f"{result['kind']}_result", where, _RESULT_NOTES[result["kind"]].format(**result), name))
            out.kept += 1
        if isinstance(item, dict) and not any(isinstance(item.get(m), dict) for m in HTTP_METHODS):
            paths.pop(path)
    if out.auth:
        doc["x-toolfactory-auth"] = [a.to_dict() for a in out.auth]
    return out


def _projection_names(doc: dict[str, Any], projection: dict[str, Any], notes: list[Note]) -> dict[tuple[str, str], str]:
    """(path, method) → the function name ToolAlpaca's ``Function_Projection`` gives it."""
    out: dict[tuple[str, str], str] = {}
    paths = doc.get("paths") if isinstance(doc.get("paths"), dict) else {}
    for name, target in projection.items():
        if not (isinstance(target, list) and len(target) == 2 and TOOL_NAME.match(str(name))):
            notes.append(Note("warning", "projection_unusable", "", f"{name!r}: {target!r} is not [path, method]", str(name)))
            continue
        path, method = "/" + str(target[0]).lstrip("/"), str(target[1]).lower()
        if not isinstance(paths.get(path), dict) or not isinstance(paths[path].get(method), dict):
            notes.append(Note("warning", "projection_unmatched", f"{method.upper()} {path}", "the spec has no such operation", str(name)))
            continue
        out[(path, method)] = str(name)
    return out


def _repair_paths(doc: dict[str, Any], notes: list[Note]) -> None:
    paths = doc.get("paths")
    if not isinstance(paths, dict):
        doc["paths"] = {}
        return
    for key in list(paths):
        item = paths[key]
        if not isinstance(item, dict):
            paths.pop(key)
            continue
        if not str(key).startswith("/"):
            fixed = "/" + str(key)
            if fixed not in paths:
                paths[fixed] = paths.pop(key)
                notes.append(Note("repair", "path_slash", f"{key}", f"the path lacked its leading '/': now {fixed}"))


def _unresolvable(doc: dict[str, Any], op: dict[str, Any], item: dict[str, Any]) -> str | None:
    """The first internal ``$ref`` the operation reaches that resolves nowhere (followed through
    components), or None."""
    seen: set[str] = set()
    stack = [ref for _, ref in iter_refs({"op": op, "parameters": item.get("parameters")})]
    while stack:
        ref = stack.pop()
        if ref in seen:
            continue
        seen.add(ref)
        target = pointer_get(doc, ref)
        if target is None:
            return f"$ref {ref[:200]} resolves nowhere"
        stack.extend(r for _, r in iter_refs(target))
    return None


def _operation_name(op: dict[str, Any], method: str, path: str, taken: set[str], where: str, notes: list[Note]) -> str:
    """A valid, unique function name: the operationId as written, else cleaned, else from method and path."""
    original = op.get("operationId")
    if isinstance(original, str) and TOOL_NAME.match(original) and original not in taken:
        return original
    base = ""
    if isinstance(original, str) and original.strip():
        base = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_-]", "_", original.strip())).strip("_")[:60]
    code = "operation_id_invalid" if original else "operation_id_missing"
    if isinstance(original, str) and TOOL_NAME.match(original):
        code = "operation_id_duplicate"
    if not base:
        base = name_from_route(method, path)
    name, n = base, 2
    while name in taken:
        name = f"{base[:60]}_{n}"
        n += 1
    if original is not None:
        op["x-original-operation-id"] = original
    notes.append(Note("repair", code, where, f"named {name}" + (f" (was {str(original)[:100]!r})" if original else ""), name))
    return name


def name_from_route(method: str, path: str) -> str:
    """``GET /users/{userId}/posts`` → ``getUsersByUserIdPosts`` (at most 60 characters)."""
    words = [method.lower()]
    for segment in path.split("/"):
        match = _TEMPLATE.fullmatch(segment)
        parts = re.split(r"[^A-Za-z0-9]+", match.group(1) if match else segment)
        parts = [p for p in parts if p]
        if match and parts:
            words.append("By")
        words += [p[:1].upper() + p[1:] for p in parts]
    return "".join(words)[:60] or method.lower()


def _repair_parameters(doc: dict[str, Any], path: str, item: dict[str, Any], op: dict[str, Any], where: str, out: Normalised) -> None:
    """Both levels' parameters made OpenAPI 3 parameters; body/form ones become the request body;
    auth ones leave; every path template variable is a required path parameter."""
    template = set(_TEMPLATE.findall(path))
    for holder in (item, op):
        params = holder.get("parameters")
        if isinstance(params, dict):
            params = list(params.values())
            out.notes.append(Note("repair", "parameters_not_list", where, "parameters was a map; now a list"))
        if not isinstance(params, list):
            holder.pop("parameters", None)
            continue
        kept = []
        for raw in params:
            p = pointer_get(doc, raw["$ref"]) if isinstance(raw, dict) and isinstance(raw.get("$ref"), str) else raw
            if not isinstance(p, dict) or not isinstance(p.get("name"), str):
                continue
            found = is_auth_parameter(p, out.auth)
            if found is not None:
                if found not in out.auth:
                    out.auth.append(found)
                out.notes.append(Note("repair", "auth_parameter", where, f"{p['name']} ({p.get('in')}) is an auth value: "
                                      "filled by the real executor from the environment, never a function argument"))
                continue
            if _parameter_to_body(p, op, where, out.notes):
                continue
            _repair_parameter(p, template, where, out.notes)
            kept.append(raw)
        holder["parameters"] = kept
    declared = {p.get("name") for h in (item, op) for raw in h.get("parameters", [])
                for p in [pointer_get(doc, raw["$ref"]) if "$ref" in raw else raw] if isinstance(p, dict) and p.get("in") == "path"}
    for name in sorted(template - declared):
        op.setdefault("parameters", []).append({"name": name, "in": "path", "required": True, "schema": {"type": "string"}})
        out.notes.append(Note("repair", "path_parameter_undeclared", where, f"{{{name}}} is in the path but was not declared: a required string"))


def _repair_parameter(p: dict[str, Any], template: set[str], where: str, notes: list[Note]) -> None:
    if p.get("in") not in _LOCATIONS:
        notes.append(Note("assumption", "parameter_location", where, f"{p['name']}: in {p.get('in')!r} read as query"))
        p["in"] = "query"
    if "schema" not in p and "content" not in p:
        moved = {k: p.pop(k) for k in SCHEMA_KEYWORDS if k in p}
        p.pop("collectionFormat", None)
        p["schema"] = moved or {"type": "string"}
        notes.append(Note("repair", "parameter_schema", where, f"{p['name']}: " + ("type keywords moved into its schema" if moved
                                                                                    else "no schema: a string")))
    if p["in"] == "path" and p["name"] not in template:
        p["in"] = "query"
        notes.append(Note("repair", "path_parameter_unused", where, f"{p['name']} is not in the path template: a query parameter"))
    if p["in"] == "path" and p.get("required") is not True:
        p["required"] = True
        notes.append(Note("repair", "path_parameter_required", where, f"{p['name']}: a path parameter is always required"))
    if isinstance(p.get("required"), str):
        p["required"] = p["required"].strip().casefold() == "true"


def _parameter_to_body(p: dict[str, Any], op: dict[str, Any], where: str, notes: list[Note]) -> bool:
    """A Swagger-2-style ``body`` or ``formData`` parameter in an OpenAPI 3 document → the request body."""
    if p.get("in") not in ("body", "formData"):
        return False
    if "requestBody" in op and p.get("in") == "body":
        return True
    if p["in"] == "body":
        op["requestBody"] = {"required": bool(p.get("required")), "content": {"application/json": {"schema": p.get("schema") or {}}}}
    else:
        body = op.setdefault("requestBody", {"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {}}}}})
        schema = next(iter(body["content"].values())).setdefault("schema", {"type": "object", "properties": {}})
        schema.setdefault("properties", {})[p["name"]] = {k: p[k] for k in (*SCHEMA_KEYWORDS, "description") if k in p}
        if p.get("required"):
            schema.setdefault("required", []).append(p["name"])
    notes.append(Note("repair", "body_parameter", where, f"{p['name']} (in {p['in']}) moved into the request body"))
    return True


def _repair_bodies(op: dict[str, Any], where: str, notes: list[Note]) -> None:
    """Swagger-2-style ``schema`` directly on a request body or response → JSON content."""
    holders = [("requestBody", op.get("requestBody"))]
    holders += [(f"response {code}", r) for code, r in (op.get("responses") or {}).items()] if isinstance(op.get("responses"), dict) else []
    for label, holder in holders:
        if isinstance(holder, dict) and isinstance(holder.get("schema"), dict) and "content" not in holder:
            holder["content"] = {"application/json": {"schema": holder.pop("schema")}}
            notes.append(Note("repair", "schema_without_content", where, f"{label}: a Swagger-2-style schema became JSON content"))
    if not isinstance(op.get("responses"), dict) or not op["responses"]:
        op["responses"] = {"200": {"description": "Successful response."}}
        notes.append(Note("assumption", "no_responses", where, "no responses documented: a 200 with a free-form result"))


def result_kind(doc: dict[str, Any], op: dict[str, Any]) -> dict[str, str]:
    """What a successful call returns: ``{"kind": json|text|binary|free_form, "media": ...}`` —
    JSON wins where offered; an object without properties or a missing schema is free-form."""
    responses = op.get("responses") if isinstance(op.get("responses"), dict) else {}
    ok = [r for code, r in responses.items() if str(code).startswith("2")] or [responses.get("default")]
    resp = ok[0] if ok else None
    if isinstance(resp, dict) and isinstance(resp.get("$ref"), str):
        resp = pointer_get(doc, resp["$ref"])
    content = resp.get("content") if isinstance(resp, dict) and isinstance(resp.get("content"), dict) else {}
    if not content:
        return {"kind": "free_form", "media": ""}
    media = next((m for m in content if "json" in str(m).casefold()), None)
    if media is None:
        media = next(iter(content))
        kind = "text" if _is_text(str(media)) else "binary"
        return {"kind": kind, "media": str(media)}
    schema = (content[media] or {}).get("schema") if isinstance(content[media], dict) else None
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        schema = pointer_get(doc, schema["$ref"])
    if not isinstance(schema, dict) or not schema or (schema.get("type") == "object" and not schema.get("properties")
                                                      and not schema.get("additionalProperties") and not any(k in schema for k in ("allOf", "oneOf", "anyOf"))):
        return {"kind": "free_form", "media": str(media)}
    return {"kind": "json", "media": str(media)}


def _is_text(media: str) -> bool:
    m = media.split(";")[0].strip().casefold()
    return m.startswith("text/") or m.endswith(("xml", "+xml", "yaml", "csv", "javascript", "html")) or m in ("*/*",)




def public_spec(spec: Any) -> Any:
    """``spec`` without the factory's derived ``x-toolfactory-result`` annotations (what an export
    carries; a re-import derives them again). ``x-original-operation-id`` and ``x-toolfactory-auth``
    (names, never values) stay."""
    if isinstance(spec, dict):
        return {k: public_spec(v) for k, v in spec.items() if k != "x-toolfactory-result"}
    if isinstance(spec, list):
        return [public_spec(v) for v in spec]
    return spec
