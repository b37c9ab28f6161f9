"""Schema-level repairs of a published OpenAPI document (``tasks.documentation.spec_normalise`` calls them):
numbers written as strings in bounds, 3.0 type lists and ``items`` lists, enums on arrays or in
another type than the schema's, defaults of the wrong type.

In: the document (repaired in place). Out: per kind of repair, how many and the first place.
"""

from __future__ import annotations

import re
from typing import Any

_BOUNDS = ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "multipleOf", "minProperties", "maxProperties")
_SKIP = ("example", "examples", "default", "enum", "const", "x-examples")
PY_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "object": dict, "array": list}


def _repair_default(node: dict[str, Any]) -> bool:
    """A ``default`` that is not of the schema's type (or not in its enum): converted where the text
    says the value (``"1"`` → 1, ``"false"`` → False), else left out. Whether anything changed."""
    value, t = node["default"], node["type"]
    python = PY_TYPES.get(t)
    fits = python is not None and isinstance(value, python) and not (t in ("integer", "number") and isinstance(value, bool))
    if value is None and node.get("nullable"):
        return False
    if fits and not (isinstance(node.get("enum"), list) and value not in node["enum"]):
        return False
    text = str(value).strip()
    if t == "boolean" and text.casefold() in ("true", "false"):
        node["default"] = text.casefold() == "true"
    elif t in ("integer", "number") and re.fullmatch(r"-?\d+(\.\d+)?", text):
        node["default"] = int(text) if t == "integer" and "." not in text else float(text)
    elif t == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        node["default"] = text
    else:
        node.pop("default")
    if isinstance(node.get("enum"), list) and node.get("default") not in node["enum"]:
        node.pop("default", None)
    return True



def _retype_enum(node: dict[str, Any]) -> bool:
    """Enum values written in another type than the schema's (``type: string`` with ``[1, 2]``, or
    ``type: integer`` with ``["1", "2"]``) converted to it; whether anything changed."""
    values, t = node["enum"], node["type"]
    if t == "string" and any(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        node["enum"] = [str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in values]
        return True
    if t in ("integer", "number") and values and all(isinstance(v, str) and re.fullmatch(r"-?\d+(\.\d+)?", v) for v in values):
        node["enum"] = [int(v) if t == "integer" and "." not in v else float(v) for v in values]
        return True
    if t == "boolean" and values and all(isinstance(v, str) and v.strip().casefold() in ("true", "false") for v in values):
        node["enum"] = [v.strip().casefold() == "true" for v in values]
        return True
    python = PY_TYPES.get(t)
    if python and any(v is not None and (not isinstance(v, python) or (t != "boolean" and isinstance(v, bool))) for v in values):
        node.pop("type")  # the values say what the parameter takes; the type contradicts them
        return True
    return False


def repair_schemas(doc: dict[str, Any]) -> dict[str, list[Any]]:
    """See the module docstring: code → [count, first place]."""
    counts: dict[str, list[Any]] = {}
    is_30 = doc["openapi"].startswith("3.0")
    stack: list[tuple[Any, str]] = [(doc.get("components"), "components"), (doc.get("paths"), "paths")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, list):
            stack.extend((v, where) for v in node)
            continue
        if not isinstance(node, dict):
            continue
        for key in _BOUNDS:
            value = node.get(key)
            if isinstance(value, str) and re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", value):
                node[key] = float(value) if "." in value else int(value)
                counts.setdefault("number_as_string", [0, where])[0] += 1
        if is_30 and isinstance(node.get("type"), list) and all(isinstance(t, str) for t in node["type"]):
            types = [t for t in node["type"] if t != "null"]
            had_null = len(types) < len(node["type"])
            if len(types) <= 1:
                node["type"] = types[0] if types else "string"
            else:
                node.pop("type")
                node["anyOf"] = [{"type": t} for t in types]
            if had_null:
                node["nullable"] = True
            counts.setdefault("type_list", [0, where])[0] += 1
        if node.get("type") == "array" and isinstance(node.get("enum"), list) and isinstance(node.get("items"), dict) \
                and all(not isinstance(v, list) for v in node["enum"]):
            node["items"].setdefault("enum", node.pop("enum"))
            counts.setdefault("enum_on_array", [0, where])[0] += 1
        if isinstance(node.get("enum"), list) and isinstance(node.get("type"), str) and _retype_enum(node):
            counts.setdefault("enum_type_mismatch", [0, where])[0] += 1
        if "default" in node and isinstance(node.get("type"), str) and _repair_default(node):
            counts.setdefault("default_mismatch", [0, where])[0] += 1
        if is_30 and isinstance(node.get("items"), list):
            node["items"] = node["items"][0] if node["items"] and isinstance(node["items"][0], dict) else {}
            counts.setdefault("items_list", [0, where])[0] += 1
        stack.extend((v, f"{where}/{k}") for k, v in node.items() if k not in _SKIP)
    return counts
