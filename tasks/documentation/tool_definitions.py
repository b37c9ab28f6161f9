"""OpenAI function tools from an OpenAPI spec: one function per operation, its parameters one JSON
Schema object (path, query, header and body properties, or a raw body as ``body``).

In: a spec. Out: ``operation_tools`` (a list of OpenAI ``tools`` entries); ``tool_name`` makes any
text a valid function name. The assistant's own ``ask_user`` tool is added by ``tasks.simulation.tool_calling``.
"""

from __future__ import annotations

import re
from typing import Any

from tasks.documentation.openapi_schema import json_schema
from tasks.documentation.request_body import RAW_BODY_ARGUMENT, request_body
from tasks.documentation.spec_lint import iter_operations, operation_parameters

TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what OpenAI accepts as a function name


def tool_name(text: str) -> str:
    """``text`` as a valid function name: other characters become ``_``, at most 64."""
    return text if TOOL_NAME.match(text) else re.sub(r"[^A-Za-z0-9_-]", "_", text)[:64]


def operation_tools(spec: Any, rename: dict[str, str] | None = None, only: str | None = None) -> list[dict[str, Any]]:
    """One tool per operation with an operationId (``rename`` maps operationId → the name shown;
    ``only``: that operation alone). Parameters: path,
    query, header and body properties (or a raw body as ``body``) in one JSON Schema object."""
    tools = []
    for _, _, op, item in iter_operations(spec):
        op_id = op.get("operationId")
        if not isinstance(op_id, str) or not op_id or (only is not None and op_id != only):
            continue
        properties: dict[str, Any] = {}
        required: list[str] = []
        defs: dict[str, Any] = {}
        for p in operation_parameters(spec, op, item):
            schema = _hoisted(json_schema(spec, p.get("schema") or {"type": "string"}), defs)
            properties[p["name"]] = {**schema, **({"description": str(p["description"])[:500]} if p.get("description") else {})}
            if p.get("required") or p.get("in") == "path":
                required.append(p["name"])
        body = request_body(spec, op)
        if body is not None and body.raw:
            properties[RAW_BODY_ARGUMENT] = _hoisted(json_schema(spec, body.schema), defs) or {"type": "string"}
            required += [RAW_BODY_ARGUMENT] if body.required else []
        elif body is not None:
            properties.update({name: _hoisted(json_schema(spec, sub), defs) for name, sub in body.properties().items()})
            required += [name for name in body.required_names() if name in properties]
        name = (rename or {}).get(op_id, op_id)
        description = " ".join(str(op.get("summary") or op.get("description") or name).split())
        tools.append({"type": "function", "function": {
            "name": tool_name(name),
            "description": description[:1000],
            "parameters": {"type": "object", "properties": properties, **({"required": list(dict.fromkeys(required))} if required else {}),
                           **({"$defs": defs} if defs else {})}}})
    return tools


def _hoisted(schema: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """A property's schema with its ``$defs`` moved into ``defs`` (refs resolve from the parameters' root)."""
    if not isinstance(schema, dict):
        return {}
    defs.update(schema.get("$defs") or {})
    return {k: v for k, v in schema.items() if k != "$defs"}
