"""Check a tool call against the API's OpenAPI spec before anything answers it (issue #3, executor).

In: a spec, an operationId and the arguments the assistant gave (any JSON value). Out: a
``CheckedCall``: the request split by parameter location (path, query, header, cookie, JSON body)
with values coerced to their schema types, and the problems found — each naming the parameter:
unknown function, arguments not an object, missing required (an empty path parameter too), wrong
type, not in the enum, a broken constraint (bounds, lengths, pattern, format — ``constraint``),
unknown parameter, body schema violations. ``null`` passes where the schema is nullable; ``""`` or
``null`` for an optional parameter means "not given" (``not_given``, the rule exact match shares);
auth parameters (``x-toolfactory-auth``) are never arguments and are dropped. ``observation()`` renders a 4xx-style observation the assistant
can act on. Never raises.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tasks.documentation.openapi_refs import deref
from tasks.documentation.openapi_schema import errors_of, is_nullable, json_schema, schema_errors
from tasks.documentation.request_body import RAW_BODY_ARGUMENT, RequestBody, request_body
from tasks.documentation.spec_auth import strip_auth
from tasks.documentation.spec_lint import iter_operations, operation_parameters

_INT = re.compile(r"^[+-]?\d+$")
_NUM = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

CHECK_CODES = frozenset({"unknown_function", "arguments_not_object", "missing_required", "wrong_type", "not_in_enum",
                         "constraint", "unknown_parameter", "body_invalid"})


@dataclass
class CallProblem:
    parameter: str
    code: str  # one of CHECK_CODES
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
    body: Any = None  # the JSON body: an object of the body's properties, or the raw body's value
    body_media: str = ""  # the request body's media type (``tasks.documentation.request_body``)
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
        body = self.body if isinstance(self.body, dict) else ({} if self.body is None else {RAW_BODY_ARGUMENT: self.body})
        return {**self.path_params, **self.query, **self.headers, **self.cookies, **body}

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


def not_given(value: Any) -> bool:
    """The one rule for an optional argument's value meaning "not given" (the call check drops it;
    exact match treats a golden ``""`` or ``null`` the same way): ``None`` or blank text."""
    return value is None or (isinstance(value, str) and not value.strip())


def _check_value(call: CheckedCall, spec: Any, name: str, raw: Any, schema: Any) -> tuple[Any, bool]:
    """(the coerced value, whether it passed): type, enum, then the schema's constraints."""
    if raw is None and is_nullable(spec, schema):
        return None, True
    value, why = coerce(raw, schema, spec)
    if why:
        call.problems.append(CallProblem(name, "wrong_type", f"{name}: {why}"))
        return value, False
    why = _check_enum(value, schema, spec)
    if why:
        call.problems.append(CallProblem(name, "not_in_enum", f"{name}: {why}"))
        return value, False
    errors = errors_of(json_schema(spec, schema), value, limit=1) if isinstance(schema, dict) else []
    if errors:
        call.problems.append(CallProblem(name, "constraint", f"{name}: {errors[0]}"))
        return value, False
    return value, True


def _drop_not_given(spec: Any, arguments: dict[str, Any], name: str, required: bool, schema: Any) -> None:
    """Drop an optional argument whose value means "not given" (``null`` stays where nullable)."""
    if name in arguments and not required and not_given(arguments[name]) \
            and not (arguments[name] is None and is_nullable(spec, schema)):
        arguments.pop(name)


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
    remaining = strip_auth(dict(arguments), spec)
    for p in operation_parameters(spec, op, item):
        name, where = p["name"], p.get("in", "query")
        required = bool(p.get("required")) or where == "path"
        _drop_not_given(spec, remaining, name, required, p.get("schema"))
        if where == "path" and name in remaining and not_given(remaining[name]):
            remaining.pop(name)
            call.problems.append(CallProblem(name, "missing_required", f"{name} is required (path parameter) and may not be empty"))
            continue
        if name not in remaining:
            if required:
                call.problems.append(CallProblem(name, "missing_required", f"{name} is required ({where} parameter)"))
            continue
        value, ok = _check_value(call, spec, name, remaining.pop(name), p.get("schema"))
        if ok:
            {"path": call.path_params, "query": call.query, "header": call.headers, "cookie": call.cookies}.get(where, call.query)[name] = value
    body = request_body(spec, op)
    if body is not None:
        call.body = _check_body(call, spec, body, remaining, arguments)
        call.body_media = body.media
    _unknown(call, remaining)
    if call.ok:
        call.path = _fill_path(path, call.path_params)
    return call


def _check_body(call: CheckedCall, spec: Any, body: RequestBody, remaining: dict[str, Any], arguments: dict[str, Any]) -> Any:
    """The request body from the arguments the parameters left (taken out of ``remaining``); a
    required body property that shares its name with a parameter gets the parameter's value."""
    if body.raw:
        _drop_not_given(spec, remaining, RAW_BODY_ARGUMENT, body.required, body.schema)
        if RAW_BODY_ARGUMENT not in remaining:
            if body.required:
                call.problems.append(CallProblem(RAW_BODY_ARGUMENT, "missing_required", f"{RAW_BODY_ARGUMENT} is required (the request body)"))
            return None
        value, _ = _check_value(call, spec, RAW_BODY_ARGUMENT, remaining.pop(RAW_BODY_ARGUMENT), body.schema)
        return value
    props = body.properties()
    out: dict[str, Any] = {}
    required = set(body.required_names())
    for name in required:
        if name not in remaining and name in arguments and any(name in part for part in (call.path_params, call.query, call.headers)):
            remaining[name] = arguments[name]
    for name, sub in props.items():
        _drop_not_given(spec, remaining, name, name in required, sub)
        if name in remaining:
            value, ok = _check_value(call, spec, name, remaining.pop(name), sub)
            if ok:
                out[name] = value
    for name in sorted(required):
        if name not in out and not any(pr.parameter == name for pr in call.problems):
            call.problems.append(CallProblem(name, "missing_required", f"{name} is required (request body)"))
    if remaining and (not props or body.schema.get("additionalProperties") not in (None, False)):
        out.update(remaining)
        remaining.clear()
    if not call.problems and not remaining:
        for where, message in schema_errors(json_schema(spec, body.schema, view="request"), out, limit=3):
            call.problems.append(CallProblem(where or "(body)", "body_invalid", f"{where}: {message}" if where else message))
    return out


def _unknown(call: CheckedCall, remaining: dict[str, Any]) -> None:
    for name in list(remaining):
        call.problems.append(CallProblem(name, "unknown_parameter", f"{name} is not a parameter of {call.operation_id}"))
    remaining.clear()


def _fill_path(template: str, params: dict[str, Any]) -> str:
    def repl(m: re.Match[str]) -> str:
        value = params.get(m.group(1))
        return quote(str(value), safe="") if value is not None else m.group(0)

    return re.sub(r"\{([^{}]+)\}", repl, template)


def identifier_argument(name: str, value: Any) -> bool:
    """An ID parameter (``sourceId``, ``user_id``) with a number-like value (``93``): one the model must
    have been given (by the user or an earlier result), not one it may choose."""
    return (bool(re.search(r"(?:^|_)id$|[a-z]Id$|ID$", name)) and not isinstance(value, bool)
            and bool(re.fullmatch(r"\d{2,}", str(value).strip())))
