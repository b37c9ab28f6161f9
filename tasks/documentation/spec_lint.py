"""Check an OpenAPI 3.0 document: openapi-spec-validator first, then our own lint.

In: a spec (any JSON value). Out: a list of ``LintIssue`` (empty = valid). Never raises.

Our rules (code → meaning):
  not_openapi_30        the ``openapi`` field is not 3.0.x
  no_operations         no path has an operation
  operation_id_missing / operation_id_duplicate / operation_id_format
  parameter_untyped     a parameter (or body property) has no schema type
  path_parameter_unused a path parameter is declared but not in the path template
  enum_missing          the description names a closed set of values but the schema has no enum
  enum_type_mismatch    an enum value is not of the parameter's type (no call could pass: "boolean", enum ["en", "fr"])
  no_success_response   no 2xx response
  response_schema_missing / request_schema_missing   JSON content without a schema
  non_json_media_type   a request or response uses a media type that is not JSON
  object_without_properties / array_without_items     response schemas too vague to simulate
  id_not_obtainable     an ID parameter no other operation returns (list/search responses must carry it)
  openapi_invalid       what openapi-spec-validator reports
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from schemas.records import LintIssue
from tasks.documentation.openapi_refs import deref
from tasks.documentation.request_body import RAW_BODY_ARGUMENT, is_json_media, request_body

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CLOSED_HINT = re.compile(
    r"\b(one of|either\b.+\bor\b|possible values|allowed values|valid values|options are|must be one|accepted values)\b",
    re.IGNORECASE,
)
_TEMPLATE = re.compile(r"\{([^{}]+)\}")
MAX_VALIDATOR_ISSUES = 20


def iter_operations(spec: Any) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """Yield (path, method, operation, path item) for every operation of ``spec``."""
    paths = spec.get("paths") if isinstance(spec, dict) else None
    if not isinstance(paths, dict):
        return
    for path, item in paths.items():
        item, _ = deref(spec, item)
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                yield str(path), method, op, item


def operation_parameters(spec: Any, op: dict[str, Any], item: dict[str, Any]) -> list[dict[str, Any]]:
    """The operation's parameters (path-item ones merged in, refs followed), dicts only."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for source in (item.get("parameters"), op.get("parameters")):
        if not isinstance(source, list):
            continue
        for p in source:
            p, _ = deref(spec, p)
            if isinstance(p, dict) and isinstance(p.get("name"), str):
                merged[(p["name"], str(p.get("in")))] = p
    return list(merged.values())


def body_properties(spec: Any, op: dict[str, Any]) -> list[tuple[str, Any, bool, str]]:
    """(name, schema as written, required, description) of each argument the operation's request body
    gives (``tasks.documentation.request_body``: its properties, or one ``body`` argument for a raw body); [] when none."""
    body = request_body(spec, op)
    if body is None:
        return []
    if body.raw:
        return [(RAW_BODY_ARGUMENT, body.schema, body.required, str(body.schema.get("description") or "The request body."))]
    required = set(body.required_names())
    out = []
    for prop, sub in body.properties().items():
        resolved, _ = deref(spec, sub)
        out.append((prop, sub, prop in required, resolved.get("description", "") if isinstance(resolved, dict) else ""))
    return out


def success_responses(op: dict[str, Any]) -> list[tuple[str, Any]]:
    responses = op.get("responses")
    if not isinstance(responses, dict):
        return []
    return [(str(code), r) for code, r in responses.items() if str(code).startswith("2") or str(code) == "2XX"]


def lint_spec(spec: Any, validate: bool = True) -> list[LintIssue]:
    """All problems of ``spec``: the validator's (unless ``validate`` is False: it is most of the
    time on large published documents), then ours. Empty list = valid."""
    issues = _validator_issues(spec) if validate else []
    if not isinstance(spec, dict):
        return issues or [LintIssue("openapi_invalid", "(root)", "the spec is not a JSON object")]
    version = str(spec.get("openapi", ""))
    if not version.startswith("3.0"):
        issues.append(LintIssue("not_openapi_30", "openapi", f"expected 3.0.x, got {version or 'nothing'}"))
    ops = list(iter_operations(spec))
    if not ops:
        issues.append(LintIssue("no_operations", "paths", "the spec has no operation"))
        return issues
    seen_ids: dict[str, str] = {}
    for path, method, op, item in ops:
        where = f"{method.upper()} {path}"
        op_id = op.get("operationId")
        if not isinstance(op_id, str) or not op_id:
            issues.append(LintIssue("operation_id_missing", where, "every operation needs an operationId"))
        else:
            if not _IDENT.match(op_id):
                issues.append(LintIssue("operation_id_format", where, f"operationId {op_id!r} must be an identifier (camelCase)"))
            if op_id in seen_ids:
                issues.append(LintIssue("operation_id_duplicate", where, f"operationId {op_id!r} is also used by {seen_ids[op_id]}"))
            seen_ids.setdefault(op_id, where)
        issues += _lint_parameters(spec, path, where, op, item)
        issues += _lint_request_body(spec, where, op)
        issues += _lint_responses(spec, where, op)
    issues += _lint_id_linkage(spec, ops)
    return issues


def _validator_issues(spec: Any) -> list[LintIssue]:
    if not isinstance(spec, dict):
        return [LintIssue("openapi_invalid", "(root)", "the spec is not a JSON object")]
    try:
        from openapi_spec_validator import OpenAPIV30SpecValidator

        out = []
        for err in OpenAPIV30SpecValidator(spec).iter_errors():
            where = "/".join(str(p) for p in getattr(err, "path", [])) or "(root)"
            message = str(getattr(err, "message", err))
            out.append(LintIssue("openapi_invalid", where, message[:400]))
            if len(out) >= MAX_VALIDATOR_ISSUES:
                break
        return out
    except RecursionError:
        return [LintIssue("openapi_invalid", "(root)", "the spec's references recurse without end")]
    except Exception as exc:  # the validator can fail on very malformed input; that is a finding too
        return [LintIssue("openapi_invalid", "(root)", f"validator failed: {type(exc).__name__}: {str(exc)[:300]}")]


def _schema_type(spec: Any, schema: Any) -> str | None:
    schema, _ = deref(spec, schema)
    if not isinstance(schema, dict):
        return None
    t = schema.get("type")
    if isinstance(t, str):
        return t
    for key in ("oneOf", "anyOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return key
    return None


def _lint_parameters(spec: Any, path: str, where: str, op: dict[str, Any], item: dict[str, Any]) -> list[LintIssue]:
    issues = []
    template = set(_TEMPLATE.findall(path))
    for p in operation_parameters(spec, op, item):
        name = p["name"]
        schema, _ = deref(spec, p.get("schema"))
        if _schema_type(spec, schema) is None and "content" not in p:
            issues.append(LintIssue("parameter_untyped", f"{where} parameter {name}", "the parameter's schema has no type"))
        if p.get("in") == "path" and name not in template:
            issues.append(LintIssue("path_parameter_unused", f"{where} parameter {name}", f"{path} has no {{{name}}}"))
        desc = str(p.get("description") or "")
        if isinstance(schema, dict) and schema.get("type") == "string" and "enum" not in schema and _CLOSED_HINT.search(desc):
            issues.append(LintIssue("enum_missing", f"{where} parameter {name}", "the description lists closed values: give them as an enum"))
        wrong = _enum_values_off_type(schema)
        if wrong:
            issues.append(LintIssue("enum_type_mismatch", f"{where} parameter {name}",
                                    f"enum values {wrong[:3]} are not of type {schema['type']}: make them match"))
    return issues


_OF_TYPE = {"string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool)}


def _enum_values_off_type(schema: Any) -> list[Any]:
    """The enum values of a typed scalar schema that are not of its type (null is allowed when nullable)."""
    if not isinstance(schema, dict) or not isinstance(schema.get("enum"), list) or schema.get("type") not in _OF_TYPE:
        return []
    fits = _OF_TYPE[schema["type"]]
    return [v for v in schema["enum"] if not fits(v) and not (v is None and schema.get("nullable"))]


def _lint_request_body(spec: Any, where: str, op: dict[str, Any]) -> list[LintIssue]:
    body, _ = deref(spec, op.get("requestBody"))
    if not isinstance(body, dict):
        return []
    content = body.get("content") if isinstance(body.get("content"), dict) else {}
    issues, schemas = _json_schemas(content, f"{where} requestBody", ("request_schema_missing", "JSON body without a schema"))
    for raw in schemas:
        schema, _ = deref(spec, raw)
        if isinstance(schema, dict):
            for prop, sub in (schema.get("properties") or {}).items():
                if _schema_type(spec, sub) is None:
                    issues.append(LintIssue("parameter_untyped", f"{where} body property {prop}", "the property has no type"))
    return issues


def _json_schemas(content: dict[str, Any], where: str, missing: tuple[str, str]) -> tuple[list[LintIssue], list[Any]]:
    """(issues, schemas) of a request or response ``content``: media types that are not JSON and JSON
    content without a schema are issues (``missing``: that one's code and message); the rest give their schema."""
    issues, schemas = [], []
    for media, media_obj in content.items():
        if not is_json_media(str(media)):
            issues.append(LintIssue("non_json_media_type", where, f"media type {media} is not JSON"))
        elif not isinstance(media_obj, dict) or "schema" not in media_obj:
            issues.append(LintIssue(missing[0], where, missing[1]))
        else:
            schemas.append(media_obj["schema"])
    return issues, schemas


def _lint_responses(spec: Any, where: str, op: dict[str, Any]) -> list[LintIssue]:
    ok = success_responses(op)
    if not ok:
        return [LintIssue("no_success_response", where, "no 2xx response is documented")]
    issues = []
    for code, resp in ok:
        resp, _ = deref(spec, resp)
        if not isinstance(resp, dict):
            continue
        content = resp.get("content")
        if code == "204":
            continue
        if not isinstance(content, dict) or not content:
            issues.append(LintIssue("response_schema_missing", f"{where} response {code}", "a 2xx response needs application/json content with a schema"))
            continue
        found, schemas = _json_schemas(content, f"{where} response {code}", ("response_schema_missing", "JSON content without a schema"))
        issues += found
        for schema in schemas:
            issues += _lint_schema_shape(spec, schema, f"{where} response {code}", set())
    return issues


def _lint_schema_shape(spec: Any, schema: Any, where: str, seen: set[int], depth: int = 0) -> list[LintIssue]:
    schema, _ = deref(spec, schema)
    if not isinstance(schema, dict) or id(schema) in seen or depth > 12:
        return []
    seen = seen | {id(schema)}
    t = schema.get("type")
    issues = []
    if t == "object" or (t is None and "properties" in schema):
        props = schema.get("properties")
        if not props and not schema.get("additionalProperties"):
            issues.append(LintIssue("object_without_properties", where, "an object schema must list its properties"))
        for name, sub in (props or {}).items() if isinstance(props, dict) else []:
            issues += _lint_schema_shape(spec, sub, f"{where}.{name}", seen, depth + 1)
    elif t == "array":
        if "items" not in schema:
            issues.append(LintIssue("array_without_items", where, "an array schema must say what its items are"))
        else:
            issues += _lint_schema_shape(spec, schema["items"], f"{where}[]", seen, depth + 1)
    for key in ("oneOf", "anyOf", "allOf"):
        for sub in schema.get(key) or [] if isinstance(schema.get(key), list) else []:
            issues += _lint_schema_shape(spec, sub, where, seen, depth + 1)
    return issues


def response_property_names(spec: Any, op: dict[str, Any]) -> set[str]:
    """Every property name anywhere in the operation's 2xx JSON response schemas."""
    names: set[str] = set()
    for _, resp in success_responses(op):
        resp, _ = deref(spec, resp)
        content = resp.get("content") if isinstance(resp, dict) else None
        for media_obj in (content or {}).values() if isinstance(content, dict) else []:
            if isinstance(media_obj, dict):
                _collect_props(spec, media_obj.get("schema"), names, set(), 0)
    return names


def _collect_props(spec: Any, schema: Any, names: set[str], seen: set[int], depth: int) -> None:
    schema, _ = deref(spec, schema)
    if not isinstance(schema, dict) or id(schema) in seen or depth > 12:
        return
    seen.add(id(schema))
    props = schema.get("properties")
    if isinstance(props, dict):
        for name, sub in props.items():
            names.add(str(name))
            _collect_props(spec, sub, names, seen, depth + 1)
    if "items" in schema:
        _collect_props(spec, schema["items"], names, seen, depth + 1)
    for key in ("oneOf", "anyOf", "allOf"):
        if isinstance(schema.get(key), list):
            for sub in schema[key]:
                _collect_props(spec, sub, names, seen, depth + 1)


def _is_id_param(name: str) -> bool:
    return name == "id" or name.endswith(("Id", "_id", "ID")) or name.casefold().endswith("id") and len(name) > 2 and name[-3] in "_-"


def _lint_id_linkage(spec: Any, ops: list[tuple[str, str, dict[str, Any], dict[str, Any]]]) -> list[LintIssue]:
    issues = []
    returned = [(f"{m.upper()} {p}", response_property_names(spec, op)) for p, m, op, _ in ops]
    for path, method, op, item in ops:
        where = f"{method.upper()} {path}"
        for p in operation_parameters(spec, op, item):
            name = p["name"]
            if not _is_id_param(name) or not (p.get("in") == "path" or p.get("required")):
                continue
            others = [names for w, names in returned if w != where]
            if not any(name in names or name.casefold() in {n.casefold() for n in names} for names in others):
                issues.append(
                    LintIssue("id_not_obtainable", f"{where} parameter {name}",
                              f"no other operation returns {name!r}: add it to a list or search response")
                )
    return issues
