"""Tool lists as tool sources: an MCP ``tools/list`` result or an OpenAI-style ``tools`` list becomes
an OpenAPI 3.1 document the rest of the factory reads like any other.

In: the parsed document. MCP: ``{"tools": [{name, description, inputSchema, outputSchema?}]}`` (also
inside a JSON-RPC ``result``, or the bare list). OpenAI: ``[{"type": "function", "function": {name,
description, parameters}}]`` (also under ``"tools"``). Out: ``(spec, notes)`` or None when the document
is neither. Each tool is ``POST /tools/<name>`` with its arguments as the JSON request body; the
result is the tool's ``outputSchema`` when given, else free-form (``x-toolfactory-result``). The
simulated executor answers these like HTTP operations; a list read from a live MCP server carries the
server (``x-toolfactory-mcp``), whose tools the real executor calls (``tasks.simulation.mcp_executor``).
"""

from __future__ import annotations

from typing import Any

from tasks.documentation.tool_definitions import tool_name
from tasks.guards.guarded_mcp import MCP_EXTENSION


def detect(doc: Any) -> str | None:
    """``mcp``, ``openai_tools`` or None."""
    tools = _tool_items(doc)
    if not tools:
        return None
    if all(isinstance(t, dict) and isinstance(t.get("function"), dict) for t in tools):
        return "openai_tools"
    if all(isinstance(t, dict) and isinstance(t.get("name"), str) and ("inputSchema" in t or "input_schema" in t) for t in tools):
        return "mcp"
    return None


def _tool_items(doc: Any) -> list[Any]:
    if isinstance(doc, dict) and isinstance(doc.get("result"), dict):
        doc = doc["result"]
    if isinstance(doc, dict) and isinstance(doc.get("tools"), list):
        return doc["tools"]
    return doc if isinstance(doc, list) and doc and all(isinstance(t, dict) for t in doc) else []


def _object_schema(schema: Any) -> dict[str, Any]:
    if not isinstance(schema, dict):
        return {"type": "object", "properties": {}}
    schema = dict(schema)
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    return schema


def to_openapi(doc: Any, title: str) -> tuple[dict[str, Any], list[str]] | None:
    """The OpenAPI 3.1 document of a tool list, and notes (renamed or skipped tools)."""
    kind = detect(doc)
    if kind is None:
        return None
    notes: list[str] = []
    paths: dict[str, Any] = {}
    for tool in _tool_items(doc):
        fn = tool["function"] if kind == "openai_tools" else tool
        name = str(fn.get("name") or "").strip()
        if not name:
            notes.append("a tool without a name was skipped")
            continue
        safe = tool_name(name)
        params = fn.get("parameters") if kind == "openai_tools" else fn.get("inputSchema", fn.get("input_schema"))
        op: dict[str, Any] = {
            "operationId": safe, "summary": " ".join(str(fn.get("description") or name).split())[:1000],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _object_schema(params)}}},
        }
        if safe != name:
            op["x-original-operation-id"] = name
            notes.append(f"{name!r} is named {safe} (tool names allow letters, digits, _ and -)")
        output = fn.get("outputSchema")
        result = {"description": "The tool's result."}
        if isinstance(output, dict):
            result["content"] = {"application/json": {"schema": output}}
        op["responses"] = {"200": result}
        paths[f"/tools/{safe}"] = {"post": op}
    info = {"title": title, "version": "1.0"}
    if isinstance(doc, dict) and isinstance(doc.get("serverInfo"), dict):
        info["title"] = str(doc["serverInfo"].get("name") or title)
        info["version"] = str(doc["serverInfo"].get("version") or "1.0")
    spec = {"openapi": "3.1.0", "info": info, "paths": paths, "x-toolfactory-source": kind}
    if isinstance(doc, dict) and MCP_EXTENSION in doc:  # kept for the importer to judge (tasks.documentation.spec_import)
        spec[MCP_EXTENSION] = doc[MCP_EXTENSION]
    return spec, notes
