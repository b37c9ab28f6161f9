"""Native function calling for the assistant agent (step mode ``tools``; issue #3).

In: an API's spec. Out: OpenAI ``tools`` (one function per operation, its parameters a JSON
schema built from the spec, plus ``ask_user``), and each assistant reply read back as the same
``ReactStep`` the text modes produce, so the dialogue loop, the records and the training data do
not depend on the mode. A reply with no tool call is the final answer; a reply with several calls,
an unknown function or arguments that are not a JSON object gets an observation that says so.
Every tool call in a reply is answered by a ``tool`` message, as the protocol requires.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tasks.llm.jsontext import extract_json
from tasks.openapi_schema import json_schema
from tasks.react import ASK_USER, ReactStep
from tasks.request_body import RAW_BODY_ARGUMENT, request_body
from tasks.spec_lint import iter_operations, operation_parameters

ASK_USER_TOOL = {"type": "function", "function": {
    "name": ASK_USER, "description": "Ask the user for a detail you need and cannot find out otherwise.",
    "parameters": {"type": "object", "required": ["question"], "properties": {
        "question": {"type": "string", "description": "The question for the user."}}}}}
TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what OpenAI accepts as a function name


def tool_name(text: str) -> str:
    """``text`` as a valid function name: other characters become ``_``, at most 64."""
    return text if TOOL_NAME.match(text) else re.sub(r"[^A-Za-z0-9_-]", "_", text)[:64]


def tool_definitions(spec: Any, rename: dict[str, str] | None = None, only: str | None = None) -> list[dict[str, Any]]:
    """One tool per operation with an operationId (``rename`` maps operationId → the name shown;
    ``only``: that operation alone, without ``ask_user``), then ``ask_user``. Parameters: path,
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
    return tools if only is not None else [*tools, ASK_USER_TOOL]


def _hoisted(schema: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """A property's schema with its ``$defs`` moved into ``defs`` (refs resolve from the parameters' root)."""
    if not isinstance(schema, dict):
        return {}
    defs.update(schema.get("$defs") or {})
    return {k: v for k, v in schema.items() if k != "$defs"}


def read_tool_turn(content: str, tool_calls: list[dict[str, Any]], valid_actions: list[str]) -> ReactStep:
    """The reply as a ReactStep: the first tool call is the action; text alone is the final answer."""
    thought = " ".join((content or "").split())
    if not tool_calls:
        if thought:
            return ReactStep("final", final_answer=thought)
        return ReactStep("invalid", error="empty", detail="your reply had neither a function call nor an answer.")
    if len(tool_calls) > 1:
        return ReactStep("invalid", thought=thought, action=tool_calls[0]["name"], error="input_not_object",
                         detail="you called several functions at once: call one function per step.")
    name, raw = tool_calls[0]["name"], tool_calls[0]["arguments"]
    if name != ASK_USER and name not in valid_actions:
        valid = ", ".join([*valid_actions, ASK_USER])
        return ReactStep("invalid", thought=thought, action=name, error="unknown_action",
                         detail=f"{name!r} is not a valid function; valid functions: {valid}.")
    value, why = extract_json(raw or "{}")
    if why is not None:
        return ReactStep("invalid", thought=thought, action=name, action_input_text=raw, error="input_not_json",
                         detail=f"the arguments are not valid JSON ({why}).")
    if not isinstance(value, dict):
        return ReactStep("invalid", thought=thought, action=name, action_input_text=raw, error="input_not_object",
                         detail="the arguments must be a JSON object.")
    return ReactStep("action", thought=thought, action=name, action_input=value, action_input_text=raw)


def render_tool_turn(content: str, tool_calls: list[dict[str, Any]]) -> str:
    """A tools-mode turn written out in the ReAct text format (transcripts and training data)."""
    thought = " ".join((content or "").split())
    if not tool_calls:
        return f"Final Answer: {thought}"
    call = tool_calls[0]
    value, why = extract_json(call["arguments"] or "{}")
    args = json.dumps(value, ensure_ascii=False) if why is None else call["arguments"]
    return f"Thought: {thought}\nAction: {call['name']}\nAction Input: {args}"


def tool_turn_messages(content: str, tool_calls: list[dict[str, Any]], observation: str) -> list[dict[str, Any]]:
    """The assistant message with its tool calls and one ``tool`` reply per call (the first gets
    the observation; any others are told they were not made), or a plain user message when the
    turn had no call (an invalid turn's feedback)."""
    if not tool_calls:
        return [{"role": "assistant", "content": content or ""}, {"role": "user", "content": observation}]
    ids = [c["id"] or f"call_{i}" for i, c in enumerate(tool_calls)]
    out: list[dict[str, Any]] = [{"role": "assistant", "content": content or None, "tool_calls": [
        {"id": i, "type": "function", "function": {"name": c["name"], "arguments": c["arguments"] or "{}"}}
        for i, c in zip(ids, tool_calls, strict=True)]}]
    out.append({"role": "tool", "tool_call_id": ids[0], "content": observation})
    out += [{"role": "tool", "tool_call_id": i, "content": "Not made: one function call per step."} for i in ids[1:]]
    return out
