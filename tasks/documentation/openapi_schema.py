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

import hashlib
import re
from typing import Any

from jsonschema import Draft202012Validator

from tasks.documentation.openapi_refs import deref

MAX_INLINE_DEPTH = 12
MAX_REF_CHAIN = 64
_NUMERIC = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength",
                      "minItems", "maxItems", "minProperties", "maxProperties"})
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


def json_schema(spec: Any, schema: Any, view: str = "") -> Any:
    """``schema`` as JSON Schema (see the module docstring): the spec's refs become ``#/$defs/<name>``
    refs to a ``$defs`` block holding each schema they reach once (recursion stays a reference).
    ``view="request"``: read-only properties are not required; ``"response"``: write-only ones are
    not. Never raises."""
    defs: dict[str, Any] = {}
    root = _convert(spec, schema, defs, view, 0, False, 0)
    if defs and isinstance(root, dict):
        root = {**root, "$defs": defs}
    return root


def _def_name(ref: str, open_: bool) -> str:
    """A ``$defs`` name per ref: a component schema's own name where it is a clean one, else a clean
    tail plus a hash of the whole ref (so two refs never share a name)."""
    tail = ref.rsplit("/", 1)[-1]
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "_", tail)[:60]
    if not (ref.startswith("#/components/schemas/") and clean == tail and ref.count("/") == 3):
        clean = f"{clean}_{hashlib.sha1(ref.encode()).hexdigest()[:10]}"
    return clean + ("__open" if open_ else "")


def _convert(spec: Any, schema: Any, defs: dict[str, Any], view: str, depth: int, open_: bool, chain: int) -> Any:
    """One schema node translated; ``open_``: a part of an ``allOf`` (its ``additionalProperties: false``
    would refuse the other parts' properties, so it goes); ``chain``: refs being converted on the way
    here (a hostile chain of thousands of components ends at ``MAX_REF_CHAIN`` as ``{}``)."""
    if depth > MAX_INLINE_DEPTH or chain > MAX_REF_CHAIN:
        return {}
    if not isinstance(schema, dict):
        return schema if isinstance(schema, bool) else {}
    if isinstance(schema.get("$ref"), str):
        ref = schema["$ref"]
        name = _def_name(ref, open_)
        if name not in defs:
            defs[name] = {}  # placeholder: a recursive schema refers to itself
            target, _ = deref(spec, {"$ref": ref})
            defs[name] = _convert(spec, target, defs, view, 0, open_, chain + 1)
        return {"$ref": f"#/$defs/{name}"}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROP or (isinstance(key, str) and key.startswith("x-")) or key in ("$defs", "definitions", "$id", "$schema"):
            continue
        if key in ("properties", "patternProperties", "dependentSchemas"):
            out[key] = {k: _convert(spec, v, defs, view, depth + 1, False, chain) for k, v in value.items()} if isinstance(value, dict) else {}
        elif key in ("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else",
                     "unevaluatedProperties", "unevaluatedItems", "additionalItems"):
            out[key] = _convert(spec, value, defs, view, depth + 1, False, chain)
        elif key in ("allOf", "anyOf", "oneOf", "prefixItems"):
            # oneOf is read as anyOf: published specs use it for alternatives that overlap, and a call
            # (or a response) that fits two of them is still a good one
            parts = [_convert(spec, v, defs, view, depth + 1, key == "allOf", chain) for v in value] if isinstance(value, list) else []
            out["anyOf" if key == "oneOf" else key] = parts
        elif key == "pattern":
            if risky_pattern(value) is None:
                out[key] = value
        elif key in _NUMERIC and not (isinstance(value, (int, float)) and not isinstance(value, bool)):
            if isinstance(value, bool) and key in ("exclusiveMinimum", "exclusiveMaximum"):
                out[key] = value  # OpenAPI 3.0's flag form, translated below
            continue
        else:
            out[key] = value
    if open_ and out.get("additionalProperties") is False:
        out.pop("additionalProperties")
    _translate_30(schema, out)
    if view and isinstance(out.get("properties"), dict) and isinstance(out.get("required"), list):
        hidden = "readOnly" if view == "request" else "writeOnly"  # such a property is never required in that direction
        out["required"] = [r for r in out["required"]
                           if not (isinstance(schema["properties"].get(r), dict) and _flag(spec, schema["properties"][r], hidden))]
    if isinstance(out.get("anyOf"), list) and isinstance(out.get("required"), list):
        out["required"] = _alternatives_own(spec, out, defs)
    if isinstance(out.get("properties"), dict) and isinstance(out.get("required"), list) and not any(k in out for k in ("allOf", "anyOf")):
        out["required"] = [r for r in out["required"] if r in out["properties"]]  # a name no property has is a typo, not a demand
    return out


def _props(schema: Any, defs: dict[str, Any]) -> set[str]:
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/$defs/"):
        schema = defs.get(schema["$ref"][len("#/$defs/"):])
    return set(schema.get("properties") or {}) if isinstance(schema, dict) and isinstance(schema.get("properties"), dict) else set()


def _alternatives_own(spec: Any, out: dict[str, Any], defs: dict[str, Any]) -> list[str]:
    """``required`` without the names only an ``anyOf`` alternative has: each alternative requires its own."""
    own = _props(out, defs).union(*(_props(p, defs) for p in out.get("allOf") or []))
    alternative = set().union(*(_props(p, defs) for p in out["anyOf"]))
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


def schema_errors(schema: Any, value: Any, limit: int = 3) -> list[tuple[str, str]]:
    """Up to ``limit`` (where, message) pairs for what is wrong with ``value`` under ``schema``
    ([] = conforms); ``where`` is the path inside ``value`` (``a/0/b``), empty at its root."""
    out = []
    try:
        for err in validator(schema).iter_errors(value):
            out.append(("/".join(str(x) for x in err.absolute_path), err.message[:200]))
            if len(out) >= limit:
                break
    except Exception as exc:  # noqa: BLE001 — e.g. a regex error deep in a published schema
        return [("", f"the schema cannot be checked: {type(exc).__name__}")]
    return out


def errors_of(schema: Any, value: Any, limit: int = 3) -> list[str]:
    """``schema_errors`` as lines: ``where: message`` (the message alone at the root)."""
    return [f"{where}: {message}" if where else message for where, message in schema_errors(schema, value, limit)]
