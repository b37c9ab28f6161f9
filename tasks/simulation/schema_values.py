"""Values that conform to a JSON Schema, made by code — for the round trip of imported operations
(``tasks.simulation.roundtrip``) and for a fake executor that answers with a conforming body.

In: a JSON Schema (``tasks.documentation.openapi_schema.json_schema`` output). Out: a value that conforms to it
where the schema is satisfiable by the rules below, deterministically: the schema's own ``const``
or ``enum``; else by type — numbers inside their bounds,
strings of the right length that match ``pattern`` (built from the regex's parse tree) or
``format``, arrays of ``minItems`` items, objects with every required property.
"""

from __future__ import annotations

import math
import re
from typing import Any

try:  # Python 3.11+: the regex parser moved
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]

_FORMATS = {"date": ("2024-05-01",), "date-time": ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00.000Z", "2024-05-01T12:00:00.000000+00:00"),
            "time": ("12:00:00Z",), "email": ("user@example.com",), "uri": ("https://example.com/a",), "url": ("https://example.com/a",),
            "uri-reference": ("/a",), "hostname": ("example.com",), "ipv4": ("192.0.2.1",), "ipv6": ("2001:db8::1",),
            "uuid": ("123e4567-e89b-12d3-a456-426614174000",), "byte": ("aGVsbG8=",), "binary": ("file-contents",),
            "password": ("secret-1",), "duration": ("P1D",), "regex": ("a+",)}
MAX_DEPTH = 20
MAX_ITEMS = 1000  # the most items, properties or pattern repeats a made value has


def resolved(schema: Any, root: Any) -> Any:
    """``schema`` with a ``#/$defs/<name>`` ref of ``root`` followed (a few levels)."""
    for _ in range(8):
        ref = schema.get("$ref") if isinstance(schema, dict) else None
        if not (isinstance(ref, str) and ref.startswith("#/$defs/") and isinstance(root, dict)):
            break
        schema = (root.get("$defs") or {}).get(ref[len("#/$defs/"):], {})
    return schema


def example_value(schema: Any, depth: int = 0, root: Any = None) -> Any:
    """A value that conforms to ``schema`` (see the module docstring); ``root``: where its
    ``#/$defs/`` refs point (``schema`` itself at the top)."""
    root = schema if root is None else root
    schema = resolved(schema, root)
    if not isinstance(schema, dict):
        return "x"
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return next((v for v in schema["enum"] if v is not None), schema["enum"][0])
    if depth > MAX_DEPTH:  # deep enough: the smallest value of the type, no further nesting
        t = schema.get("type")
        t = next((x for x in t if x != "null"), "null") if isinstance(t, list) else t
        return {"object": {}, "array": [], "integer": 0, "number": 0, "boolean": True, "null": None}.get(t if isinstance(t, str) else "", "x")
    for key in ("allOf", "anyOf", "oneOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            parts = [resolved(s, root) for s in (schema[key] if key == "allOf" else schema[key][:1])]
            merged = _merge([s for s in parts if isinstance(s, dict)])
            rest = {k: v for k, v in schema.items() if k != key}
            return example_value(_merge([rest, merged]), depth + 1, root)
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "null")
    if t is None:
        t = "object" if "properties" in schema else "array" if "items" in schema else "string"
    return _BY_TYPE.get(t, lambda s, d, r: None)(schema, depth, root)


def _merge(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for s in schemas:
        for k, v in s.items():
            if k == "properties" and isinstance(v, dict):
                out.setdefault("properties", {}).update(v)
            elif k == "required" and isinstance(v, list):
                out["required"] = list(dict.fromkeys([*out.get("required", []), *v]))
            else:
                out.setdefault(k, v)
    return out


def _number(schema: dict[str, Any], integer: bool) -> int | float:
    bump = 1 if integer else 0.5
    low, high, ex_low, ex_high = (_num(schema.get(k)) for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"))
    if isinstance(ex_low, (int, float)) and not isinstance(ex_low, bool):
        low = ex_low + bump if low is None else max(low, ex_low + bump)
    if isinstance(ex_high, (int, float)) and not isinstance(ex_high, bool):
        high = ex_high - bump if high is None else min(high, ex_high - bump)
    value = low if isinstance(low, (int, float)) else (min(1, high) if isinstance(high, (int, float)) else 1)
    step = schema.get("multipleOf")
    try:
        if isinstance(step, (int, float)) and step > 0:
            value = step * math.ceil(value / step)
        return math.ceil(value) if integer else value
    except (OverflowError, ValueError):  # a hostile or absurd bound: the value stays as it is
        return 1


def _num(value: Any) -> float | int | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _string(schema: dict[str, Any], depth: int, root: Any = None) -> str:
    pattern = schema.get("pattern") if isinstance(schema.get("pattern"), str) else None
    low, high = schema.get("minLength"), schema.get("maxLength")
    for formatted in _FORMATS.get(str(schema.get("format", "")), ()):
        fits = (not isinstance(low, int) or len(formatted) >= low) and (not isinstance(high, int) or len(formatted) <= high)
        if fits and (pattern is None or re.search(pattern, formatted)):
            return formatted
    text = from_pattern(pattern) if pattern else None
    text = "example" if text is None else text
    if isinstance(low, int) and len(text) < low and pattern is None:
        text = text + "x" * (min(low, 100_000) - len(text))
    if isinstance(high, int) and len(text) > high and pattern is None:
        text = text[: max(high, 0)]
    return text


def from_pattern(pattern: str) -> str | None:
    """A short string that ``re.search(pattern)`` finds (the shortest choices of its parse tree),
    or None when the pattern uses what this does not build (lookarounds, backreferences)."""
    try:
        text = _build(sre_parse.parse(pattern))
    except (re.error, ValueError, TypeError, RecursionError, _Unbuildable):
        return None
    return text if re.search(pattern, text) else None


class _Unbuildable(Exception):
    pass


def _build(tree: Any) -> str:
    out = []
    for op, arg in tree:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "NOT_LITERAL":
            out.append("a" if chr(arg) != "a" else "b")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_in(arg))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _, sub = arg
            if low > MAX_ITEMS:  # `a{999999999}`: not built
                raise _Unbuildable(name)
            out.append(_build(sub) * max(low, 0))
        elif name == "SUBPATTERN":
            out.append(_build(arg[-1]))
        elif name == "ATOMIC_GROUP":
            out.append(_build(arg))
        elif name == "BRANCH":
            out.append(_build(arg[1][0]))
        elif name == "AT":
            continue
        else:
            raise _Unbuildable(name)
    return "".join(out)


def _in(items: Any) -> str:
    negate = any(str(op) == "NEGATE" for op, _ in items)
    for op, arg in items:
        name = str(op)
        if negate:
            excluded = {chr(a) for o, a in items if str(o) == "LITERAL"}
            return next(c for c in "aZ0_-" if c not in excluded)
        if name == "LITERAL":
            return chr(arg)
        if name == "RANGE":
            return chr(arg[0])
        if name == "CATEGORY":
            return {"CATEGORY_DIGIT": "0", "CATEGORY_SPACE": " ", "CATEGORY_WORD": "a", "CATEGORY_NOT_DIGIT": "a",
                    "CATEGORY_NOT_SPACE": "a", "CATEGORY_NOT_WORD": "-"}.get(str(arg), "a")
    return "a"


def _array(schema: dict[str, Any], depth: int, root: Any = None) -> list[Any]:
    n = min(max(1, _int(schema.get("minItems"))), MAX_ITEMS)
    if isinstance(schema.get("maxItems"), int):
        n = min(n, schema["maxItems"])
    item = example_value(schema.get("items") if isinstance(schema.get("items"), dict) else {}, depth + 1, root)
    if schema.get("uniqueItems") and n > 1:
        return [item] + [f"{item}{i}" if isinstance(item, str) else item + i if isinstance(item, (int, float)) and not isinstance(item, bool)
                         else item for i in range(1, n)]
    return [item] * n


def _object(schema: dict[str, Any], depth: int, root: Any = None) -> dict[str, Any]:
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = [r for r in schema.get("required") or [] if isinstance(r, str)]
    # all properties at the top, a few below, only the required ones deep down: the value stays small
    optional = list(props) if depth == 0 else list(props)[: max(0, 3 - len(required))] if depth <= 3 else []
    names = list(dict.fromkeys([*required, *optional]))
    out = {name: example_value(props.get(name, {}), depth + 1, root) for name in names}
    low = schema.get("minProperties")
    if isinstance(low, int) and len(out) < low and schema.get("additionalProperties") is not False:
        for i in range(min(low, MAX_ITEMS) - len(out)):
            extra = schema.get("additionalProperties")
            out[f"key{i}"] = example_value(extra if isinstance(extra, dict) else {}, depth + 1, root)
    return out


_BY_TYPE = {
    "string": _string,
    "integer": lambda s, d, r: _number(s, True),
    "number": lambda s, d, r: _number(s, False),
    "boolean": lambda s, d, r: True,
    "null": lambda s, d, r: None,
    "array": _array,
    "object": _object,
}
