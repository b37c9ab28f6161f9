"""OpenAPI schema objects as plain JSON Schema (draft 2020-12), for jsonschema and tool definitions.

In: a spec and one of its schema objects (OpenAPI 3.0 or 3.1, refs allowed). Out: a JSON Schema with
the spec's internal refs inlined (cycles and depth cut off to ``{}``) and OpenAPI 3.0's dialect
translated: ``nullable: true`` adds ``"null"`` to the type, boolean ``exclusiveMinimum`` /
``exclusiveMaximum`` become numbers, ``example``, ``xml``, ``discriminator`` and ``x-`` keys go.
Read leniently, as their authors mean them: ``oneOf`` as ``anyOf`` (published alternatives overlap),
and ``additionalProperties: false`` beside ``allOf``/``anyOf`` is dropped (it would refuse the
composed properties).
Patterns that Python cannot compile, or that can backtrack catastrophically (a quantified group
that itself holds a quantifier, as in ``(a+)+``), are left out: a hostile spec must not be able to
stall the call check (``risky_pattern``).

``is_nullable`` says whether a schema admits ``null``; ``validator`` builds a checker that also
checks formats (those jsonschema can check without extra packages).
"""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator

from tasks.openapi_refs import deref

MAX_INLINE_DEPTH = 12
_DROP = frozenset({"example", "examples", "xml", "discriminator", "externalDocs", "readOnly", "writeOnly", "deprecated",
                   "nullable", "x-nullable"})
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]")


def risky_pattern(pattern: Any) -> str | None:
    """Why ``pattern`` is not enforced (it does not compile, or may backtrack catastrophically), or None."""
    if not isinstance(pattern, str) or len(pattern) > 500:
        return "not a string of at most 500 characters"
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        return f"does not compile in Python: {exc}"
    if _NESTED_QUANTIFIER.search(pattern):
        return "a quantified group holds a quantifier (catastrophic backtracking)"
    return None


def is_nullable(spec: Any, schema: Any) -> bool:
    """Whether the schema admits ``null`` (3.0 ``nullable``, Swagger's ``x-nullable``, 3.1 type lists)."""
    schema, _ = deref(spec, schema)
    if not isinstance(schema, dict):
        return False
    t = schema.get("type")
    return bool(schema.get("nullable") or schema.get("x-nullable")) or t == "null" or (isinstance(t, list) and "null" in t)


def json_schema(spec: Any, schema: Any, depth: int = 0, trail: tuple[str, ...] = (), view: str = "") -> Any:
    """``schema`` as JSON Schema (see the module docstring). ``view="request"`` leaves out read-only
    properties, ``"response"`` write-only ones. Never raises."""
    if depth > MAX_INLINE_DEPTH:
        return {}
    if isinstance(schema, list):
        return [json_schema(spec, v, depth + 1, trail, view) for v in schema]
    if not isinstance(schema, dict):
        return schema if isinstance(schema, bool) else {}
    if isinstance(schema.get("$ref"), str):
        ref = schema["$ref"]
        if ref in trail:
            return {}
        target, _ = deref(spec, schema)
        return json_schema(spec, target, depth + 1, (*trail, ref), view)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROP or (isinstance(key, str) and key.startswith("x-")):
            continue
        if key in ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas"):
            out[key] = {k: json_schema(spec, v, depth + 1, trail, view) for k, v in value.items()} if isinstance(value, dict) else {}
        elif key in ("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else",
                     "unevaluatedProperties", "unevaluatedItems", "additionalItems"):
            out[key] = json_schema(spec, value, depth + 1, trail, view)
        elif key in ("allOf", "anyOf", "oneOf", "prefixItems"):
            # oneOf is read as anyOf: published specs use it for alternatives that overlap, and a call
            # (or a response) that fits two of them is still a good one
            parts = [json_schema(spec, v, depth + 1, trail, view) for v in value] if isinstance(value, list) else []
            if key == "allOf":  # a part's additionalProperties: false would refuse the other parts' properties
                parts = [{k: v for k, v in p.items() if not (k == "additionalProperties" and v is False)} if isinstance(p, dict) else p
                         for p in parts]
            out["anyOf" if key == "oneOf" else key] = parts
        elif key == "pattern":
            if risky_pattern(value) is None:
                out[key] = value
        else:
            out[key] = value
    _translate_30(schema, out)
    if view and isinstance(out.get("properties"), dict) and isinstance(out.get("required"), list):
        hidden = "readOnly" if view == "request" else "writeOnly"  # such a property is never required in that direction
        out["required"] = [r for r in out["required"]
                           if not (isinstance(schema["properties"].get(r), dict) and _flag(spec, schema["properties"][r], hidden))]
    if isinstance(out.get("anyOf"), list) and isinstance(out.get("required"), list):
        out["required"] = _alternatives_own(out)
    if isinstance(out.get("properties"), dict) and isinstance(out.get("required"), list) and not any(k in out for k in ("allOf", "anyOf")):
        out["required"] = [r for r in out["required"] if r in out["properties"]]  # a name no property has is a typo, not a demand
    return out


def _props(schema: Any) -> set[str]:
    return set(schema.get("properties") or {}) if isinstance(schema, dict) and isinstance(schema.get("properties"), dict) else set()


def _alternatives_own(out: dict[str, Any]) -> list[str]:
    """``required`` without the names only an ``anyOf`` alternative has: each alternative requires its own."""
    own = _props(out).union(*(_props(p) for p in out.get("allOf") or []))
    alternative = set().union(*(_props(p) for p in out["anyOf"]))
    return [r for r in out["required"] if r in own or r not in alternative]


def _flag(spec: Any, schema: Any, flag: str) -> bool:
    target, _ = deref(spec, schema)
    return isinstance(target, dict) and target.get(flag) is True


def _translate_30(schema: dict[str, Any], out: dict[str, Any]) -> None:
    """OpenAPI 3.0 keywords whose meaning JSON Schema spells otherwise."""
    for flag, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(schema.get(flag), bool):
            if schema[flag] and isinstance(schema.get(bound), (int, float)):
                out[flag] = schema[bound]
                out.pop(bound, None)
            else:
                out.pop(flag, None)
    if (schema.get("nullable") or schema.get("x-nullable")) and "type" in out:
        t = out["type"]
        types = list(t) if isinstance(t, list) else [t]
        if "null" not in types:
            out["type"] = [*types, "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    if out.get("additionalProperties") is False and any(k in out for k in ("allOf", "anyOf")):
        out.pop("additionalProperties")  # with composition it would refuse the composed properties themselves
    if isinstance(out.get("required"), list):
        out["required"] = [r for r in out["required"] if isinstance(r, str)]
    elif "required" in out:
        out.pop("required")


def validator(schema: Any) -> Draft202012Validator:
    """A draft 2020-12 validator for ``schema`` (already JSON Schema) that checks formats too. The
    schema is not checked first (that is most of the cost); ``errors_of`` turns a malformed one
    into a message."""
    return Draft202012Validator(schema if isinstance(schema, (dict, bool)) else {}, format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors_of(schema: Any, value: Any, limit: int = 3) -> list[str]:
    """Up to ``limit`` messages for what is wrong with ``value`` under ``schema`` ([] = conforms)."""
    out = []
    try:
        for err in validator(schema).iter_errors(value):
            where = "/".join(str(x) for x in err.absolute_path)
            out.append((f"{where}: " if where else "") + err.message[:200])
            if len(out) >= limit:
                break
    except Exception as exc:  # noqa: BLE001 — e.g. a regex error deep in a published schema
        return [f"the schema cannot be checked: {type(exc).__name__}"]
    return out
