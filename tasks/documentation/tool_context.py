"""The tool context of a dialogue: what its assistant was shown, made once per toolset and recorded.

``make_context`` takes the spec the assistant's functions come from (a whole API's, a large API's slice,
two APIs combined), the documents behind it, the function names, tool definitions and NL documentation
shown, the step mode and the assistant prompt's version, and returns a ``ToolContext`` whose ID hashes all
of it. The tool definitions are the caller's (simulation's include its ``ask_user`` tool; a published
ToolAlpaca instance's are the operations alone), recorded whatever the step mode so every export can carry
them. Its spec
keeps only the components the shown operations refer to (a slice of a large published API would otherwise
carry the whole API's schemas).
"""

from __future__ import annotations

from typing import Any

from schemas.ids import content_id
from schemas.records import ToolContext


def _refs(node: Any, out: set[str]) -> None:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/"):
                out.add(ref)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def referenced_only(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with only the components its paths (and security) refer to, directly or through other components."""
    components = spec.get("components") if isinstance(spec.get("components"), dict) else None
    if not components:
        return spec
    wanted: set[str] = set()
    _refs({k: v for k, v in spec.items() if k != "components"}, wanted)
    seen: set[str] = set()
    while wanted - seen:
        ref = sorted(wanted - seen)[0]
        seen.add(ref)
        _, _, kind, name = (ref.split("/", 3) + ["", "", "", ""])[:4]
        target = (components.get(kind) or {}).get(name) if isinstance(components.get(kind), dict) else None
        if target is not None:
            _refs(target, wanted)
    kept: dict[str, Any] = {}
    for kind, items in components.items():
        if kind == "securitySchemes" or not isinstance(items, dict):
            kept[kind] = items  # auth is how calls are made, not a schema the shown operations name
            continue
        chosen = {n: v for n, v in items.items() if f"#/components/{kind}/{n}" in seen}
        if chosen:
            kept[kind] = chosen
    return {**spec, "components": kept}


def make_context(api_id: str, name: str, docs: list[tuple[str, str]], toolset: list[str], spec: dict[str, Any],
                 function_names: list[str], tools: list[dict[str, Any]], nl_documentation: str, step_mode: str,
                 prompt_version: str) -> ToolContext:
    """The record of what an assistant is shown. ``docs``: (doc_id, api_id) of every API involved, the
    dialogue's own first; ``toolset``: the slice's names ([] when every function is shown); ``tools``: the
    OpenAI tool definitions of those functions."""
    shown = referenced_only(spec or {})
    parts = [api_id, name, [d for d, _ in docs], [a for _, a in docs], list(toolset), list(function_names), nl_documentation,
             tools, shown, step_mode, prompt_version]
    return ToolContext(content_id("tool_context", *parts), api_id, name, [d for d, _ in docs], [a for _, a in docs],
                       list(toolset), list(function_names), nl_documentation, tools, shown, step_mode, prompt_version)
