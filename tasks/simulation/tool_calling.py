"""Native function calling for the assistant agent (step mode ``tools``; issue #3).

In: an API's spec. Out: OpenAI ``tools`` (one function per operation, its parameters a JSON
schema built from the spec, plus ``ask_user``), and each assistant reply read back as the same
``ReactStep`` the text modes produce, so the dialogue loop, the records and the training data do
not depend on the mode. A reply with no tool call is the final answer; a reply with several calls holds
parallel calls (up to the dialogue's limit), each read on its own; more calls than that, an unknown
function or arguments that are not a JSON object get an observation that says so. Every tool call in a
reply is answered by a ``tool`` message, as the protocol requires.
"""

from __future__ import annotations

import json
from typing import Any

from tasks.documentation.tool_definitions import operation_tools
from tasks.llm.jsontext import extract_json
from tasks.simulation.react import ASK_USER, ReactStep

ASK_USER_TOOL = {"type": "function", "function": {
    "name": ASK_USER, "description": "Ask the user for a detail you need and cannot find out otherwise.",
    "parameters": {"type": "object", "required": ["question"], "properties": {
        "question": {"type": "string", "description": "The question for the user."}}}}}


def tool_definitions(spec: Any, rename: dict[str, str] | None = None, only: str | None = None) -> list[dict[str, Any]]:
    """The assistant's tools: ``operation_tools`` (``rename``, ``only`` as there), then ``ask_user``
    (not with ``only``)."""
    tools = operation_tools(spec, rename, only)
    return tools if only is not None else [*tools, ASK_USER_TOOL]


def read_tool_turn(content: str, tool_calls: list[dict[str, Any]], valid_actions: list[str], max_calls: int = 1) -> ReactStep:
    """The reply as a ReactStep: the first tool call is the action, any others (at most ``max_calls`` in all)
    its ``parallel`` calls, each read on its own; text alone is the final answer."""
    thought = " ".join((content or "").split())
    if not tool_calls:
        if thought:
            return ReactStep("final", final_answer=thought)
        return ReactStep("invalid", error="empty", detail="your reply had neither a function call nor an answer.")
    if len(tool_calls) > max_calls:
        return ReactStep("invalid", thought=thought, action=tool_calls[0]["name"], error="input_not_object",
                         detail=("you called several functions at once: call one function per step." if max_calls == 1 else
                                 f"you called {len(tool_calls)} functions at once: at most {max_calls}."))
    first, *others = [_read_call(c["name"], c["arguments"], valid_actions, alone=len(tool_calls) == 1) for c in tool_calls]
    first.thought, first.parallel = thought, others
    return first


def _read_call(name: str, raw: str | None, valid_actions: list[str], alone: bool = True) -> ReactStep:
    """One tool call as a ReactStep (``ask_user`` only ``alone``, not among parallel calls)."""
    if name == ASK_USER and not alone:
        return ReactStep("invalid", action=name, error="unknown_action",
                         detail="ask_user cannot be called beside other functions: ask on its own.")
    if name != ASK_USER and name not in valid_actions:
        valid = ", ".join([*valid_actions, ASK_USER])
        return ReactStep("invalid", action=name, error="unknown_action",
                         detail=f"{name!r} is not a valid function; valid functions: {valid}.")
    value, why = extract_json(raw or "{}")
    if why is not None:
        return ReactStep("invalid", action=name, action_input_text=raw or "", error="input_not_json",
                         detail=f"the arguments are not valid JSON ({why}).")
    if not isinstance(value, dict):
        return ReactStep("invalid", action=name, action_input_text=raw or "", error="input_not_object",
                         detail="the arguments must be a JSON object.")
    return ReactStep("action", action=name, action_input=value, action_input_text=raw or "")


def render_tool_turn(content: str, tool_calls: list[dict[str, Any]]) -> str:
    """A tools-mode turn written out in the ReAct text format (transcripts and training data): the
    thought, then an Action / Action Input pair per call."""
    thought = " ".join((content or "").split())
    if not tool_calls:
        return f"Final Answer: {thought}"
    lines = [f"Thought: {thought}"]
    for call in tool_calls:
        value, why = extract_json(call["arguments"] or "{}")
        args = json.dumps(value, ensure_ascii=False) if why is None else call["arguments"]
        lines += [f"Action: {call['name']}", f"Action Input: {args}"]
    return "\n".join(lines)


def tool_turn_messages(content: str, tool_calls: list[dict[str, Any]], observations: list[str]) -> list[dict[str, Any]]:
    """The assistant message with its tool calls and one ``tool`` reply per call (the calls answered get
    their observations in order; any others are told they were not made), or a plain user message when
    the turn had no call (an invalid turn's feedback)."""
    if not tool_calls:
        return [{"role": "assistant", "content": content or ""}, {"role": "user", "content": "\n".join(observations)}]
    ids = [c["id"] or f"call_{i}" for i, c in enumerate(tool_calls)]
    out: list[dict[str, Any]] = [{"role": "assistant", "content": content or None, "tool_calls": [
        {"id": i, "type": "function", "function": {"name": c["name"], "arguments": c["arguments"] or "{}"}}
        for i, c in zip(ids, tool_calls, strict=True)]}]
    out += [{"role": "tool", "tool_call_id": i, "content": observations[n] if n < len(observations) else "Not made: too many calls at once."}
            for n, i in enumerate(ids)]
    return out
