"""Check a tool call against the API's OpenAPI spec before anything answers it (issue #3, executor).

In: a spec, an operationId and the arguments the assistant gave (any JSON value). Out: a
``CheckedCall``: the request split by parameter location (path, query, header, cookie, JSON body)
with values coerced to their schema types, and the problems found — each naming the parameter:
unknown function, arguments not an object, missing required, wrong type, not in the enum, unknown
parameter, body schema violations. ``observation()`` renders a 4xx-style observation the assistant
can act on. Never raises.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from jsonschema import Draft202012Validator

from tasks.openapi_refs import deref
from tasks.spec_lint import iter_operations, operation_parameters

_INT = re.compile(r"^[+-]?\d+$")
_NUM = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

CHECK_CODES = frozenset({"unknown_function", "arguments_not_object", "missing_required", "wrong_type", "not_in_enum",
                         "unknown_parameter", "body_invalid"})


@dataclass
class CallProblem:
    parameter: str
    code: str  # unknown_function | arguments_not_object | missing_required | wrong_type | not_in_enum | unknown_parameter | body_invalid
    message: str


@dataclass
class CheckedCall:
    operation_id: str
    method: str = ""
    path: str = ""
    path_params: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, Any] = field(default_factory=dict)
    cookies: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    problems: list[CallProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def status(self) -> int:
        if not self.problems:
            return 200
        return 404 if any(p.code == "unknown_function" for p in self.problems) else 400

    def arguments(self) -> dict[str, Any]:
        """The coerced arguments, all locations merged (what the executor LLM is shown)."""
        return {**self.path_params, **self.query, **self.headers, **self.cookies, **(self.body or {})}

    def error_body(self) -> dict[str, Any]:
        """The 4xx response body: every problem, naming its parameter, and what the assistant can do."""
        errors = [{"parameter": p.parameter, "problem": p.code, "message": p.message} for p in self.problems]
        return {"errors": errors, "hint": "Fix the Action Input and try again, call another function, or give your final answer."}

    def observation(self) -> str:
        """``Status Code: 400. Response: {...}`` naming every problem, or the 200 placeholder."""
        if self.ok:
            return "Status Code: 200."
        return f"Status Code: {self.status}. Response: " + json.dumps(self.error_body(), ensure_ascii=False)


def find_operation(spec: Any, operation_id: str) -> tuple[str, str, dict[str, Any], dict[str, Any]] | None:
    for path, method, op, item in iter_operations(spec):
        if op.get("operationId") == operation_id:
            return path, method, op, item
    return None


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if value is None:
        return "null"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def coerce(value: Any, schema: Any, spec: Any) -> tuple[Any, str | None]:
    """``value`` converted to ``schema``'s type where that is unambiguous (``"3"`` → 3,
    ``"true"`` → True, ``5`` → ``"5"``), or the reason it cannot be."""
    schema, _ = deref(spec, schema)
    if not isinstance(schema, dict):
        return value, None
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    if t is None:
        return value, None
    if t == "integer":
        if isinstance(value, bool):
            return value, "expected integer, got boolean"
        if isinstance(value, int):
            return value, None
        if isinstance(value, float) and value.is_integer():
            return int(value), None
        if isinstance(value, str) and _INT.match(value.strip()):
            return int(value.strip()), None
    elif t == "number":
        if isinstance(value, bool):
            return value, "expected number, got boolean"
        if isinstance(value, (int, float)):
            return value, None
        if isinstance(value, str) and _NUM.match(value.strip()):
            number = float(value.strip())
            return (int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number), None
    elif t == "boolean":
        if isinstance(value, bool):
            return value, None
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true", None
    elif t == "string":
        if isinstance(value, str):
            return value, None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value), None
    elif t == "array":
        if isinstance(value, list):
            out = []
            for item in value:
                coerced, why = coerce(item, schema.get("items"), spec)
                if why:
                    return value, f"item {item!r}: {why}"
                out.append(coerced)
            return out, None
        if isinstance(value, str) and value.strip():  # query style: a,b,c
            return coerce([v.strip() for v in value.split(",")], schema, spec)
    elif t == "object":
        if isinstance(value, dict):
            return value, None
    else:
        return value, None
    return value, f"expected {t}, got {_type_name(value)} {json.dumps(value, ensure_ascii=False, default=str)[:60]}"


def _check_enum(value: Any, schema: Any, spec: Any) -> str | None:
    schema, _ = deref(spec, schema)
    enum = schema.get("enum") if isinstance(schema, dict) else None
    if isinstance(enum, list) and enum:
        values = value if isinstance(value, list) and (schema.get("type") == "array") else [value]
        for v in values:
            if v not in enum:
                return f"{v!r} is not one of {enum}"
    items = schema.get("items") if isinstance(schema, dict) else None
    if isinstance(value, list) and items is not None:
        for v in value:
            why = _check_enum(v, items, spec)
            if why:
                return why
    return None


def check_call(spec: Any, operation_id: str, arguments: Any) -> CheckedCall:
    """Route, coerce and check one call. See the module docstring."""
    call = CheckedCall(operation_id=str(operation_id))
    found = find_operation(spec, operation_id)
    if found is None:
        names = [op.get("operationId") for _, _, op, _ in iter_operations(spec) if op.get("operationId")]
        call.problems.append(CallProblem("(function)", "unknown_function", f"no function {operation_id!r}; valid functions: {', '.join(names)}"))
        return call
    path, method, op, item = found
    call.method, call.path = method, path
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        kind = "a list (only one function per action)" if isinstance(arguments, list) else _type_name(arguments)
        call.problems.append(CallProblem("(arguments)", "arguments_not_object", f"Action Input must be a JSON object, got {kind}"))
        return call
    remaining = dict(arguments)
    for p in operation_parameters(spec, op, item):
        name, where = p["name"], p.get("in", "query")
        required = bool(p.get("required")) or where == "path"
        if name not in remaining:
            if required:
                call.problems.append(CallProblem(name, "missing_required", f"{name} is required ({where} parameter)"))
            continue
        raw = remaining.pop(name)
        value, why = coerce(raw, p.get("schema"), spec)
        if why:
            call.problems.append(CallProblem(name, "wrong_type", f"{name}: {why}"))
            continue
        why = _check_enum(value, p.get("schema"), spec)
        if why:
            call.problems.append(CallProblem(name, "not_in_enum", f"{name}: {why}"))
            continue
        {"path": call.path_params, "query": call.query, "header": call.headers, "cookie": call.cookies}.get(where, call.query)[name] = value
    body_schema = _json_body_schema(spec, op)
    if body_schema is not None:
        props = body_schema.get("properties") if isinstance(body_schema.get("properties"), dict) else {}
        body: dict[str, Any] = {}
        for name, sub in props.items():
            if name in remaining:
                value, why = coerce(remaining.pop(name), sub, spec)
                if why:
                    call.problems.append(CallProblem(name, "wrong_type", f"{name}: {why}"))
                    continue
                why = _check_enum(value, sub, spec)
                if why:
                    call.problems.append(CallProblem(name, "not_in_enum", f"{name}: {why}"))
                    continue
                body[name] = value
        for name in body_schema.get("required") or []:
            if name not in body and not any(pr.parameter == name for pr in call.problems):
                call.problems.append(CallProblem(name, "missing_required", f"{name} is required (request body)"))
        if body_schema.get("additionalProperties") not in (None, False) and remaining:
            body.update(remaining)
            remaining = {}
        if not call.problems:
            for err in Draft202012Validator(inline_refs(spec, body_schema)).iter_errors(body):
                where = "/".join(str(x) for x in err.absolute_path) or "(body)"
                call.problems.append(CallProblem(where, "body_invalid", err.message[:200]))
        call.body = body
    for name in remaining:
        call.problems.append(CallProblem(name, "unknown_parameter", f"{name} is not a parameter of {operation_id}"))
    if call.ok:
        call.path = _fill_path(path, call.path_params)
    return call


def _json_body_schema(spec: Any, op: dict[str, Any]) -> dict[str, Any] | None:
    body, _ = deref(spec, op.get("requestBody"))
    if not isinstance(body, dict) or not isinstance(body.get("content"), dict):
        return None
    for media, media_obj in body["content"].items():
        if "json" in str(media) and isinstance(media_obj, dict):
            schema, _ = deref(spec, media_obj.get("schema"))
            return schema if isinstance(schema, dict) else None
    return None


def inline_refs(spec: Any, schema: Any, depth: int = 0) -> Any:
    """The schema with internal refs followed (cycles cut off), for jsonschema."""
    if depth > 8:
        return {}
    if isinstance(schema, dict):
        if "$ref" in schema:
            target, _ = deref(spec, schema)
            return inline_refs(spec, target, depth + 1)
        return {k: inline_refs(spec, v, depth + 1) for k, v in schema.items() if k not in ("example", "examples")}
    if isinstance(schema, list):
        return [inline_refs(spec, v, depth + 1) for v in schema]
    return schema


def _fill_path(template: str, params: dict[str, Any]) -> str:
    def repl(m: re.Match[str]) -> str:
        value = params.get(m.group(1))
        return quote(str(value), safe="") if value is not None else m.group(0)

    return re.sub(r"\{([^{}]+)\}", repl, template)
