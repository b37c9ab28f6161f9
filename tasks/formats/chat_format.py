"""A dialogue as a conversational training example: OpenAI-style ``messages`` and ``tools``.

In: a trajectory (a ``Dialogue`` record, or any ``schemas.views.Trajectory``) and its tool definitions (``tasks.simulation.tool_calling.tool_definitions``).
Out: ``{"messages": [...], "tools": "<JSON text>"}`` — the shape TRL's SFTTrainer takes (it decodes
a ``tools`` string itself). A call turn is an assistant message with the thought as content and one
``tool_calls`` entry, answered by a ``tool`` message carrying the observation; the final turn is an
assistant message with the answer. Tool-call ``arguments`` are JSON text, as the OpenAI API sends
them: Arrow (Parquet, ``datasets``) would merge differently-keyed argument objects into one struct
and fill the gaps with nulls. Decode them before a chat template that wants a mapping.
"""

from __future__ import annotations

import json
from typing import Any

from schemas.views import Trajectory

SYSTEM = "You are a helpful assistant. Use the functions you are given to do what the user asks, then answer."


def decode_json_text(value: Any) -> Any:
    """JSON text decoded; anything else (or text that is not JSON) as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def to_messages(dialogue: Trajectory, system: str = SYSTEM) -> list[dict[str, Any]]:
    """The dialogue's turns as chat messages (only steps that parsed; a dialogue in the clean corpus has no others)."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": system},
                                      {"role": "user", "content": dialogue.instruction}]
    for step in dialogue.steps:
        if step.action:
            call_id = f"call_{step.index}"
            messages.append({"role": "assistant", "content": step.thought or "", "tool_calls": [{
                "id": call_id, "type": "function",
                "function": {"name": step.action, "arguments": json.dumps(step.action_input, ensure_ascii=False)}}]})
            messages.append({"role": "tool", "tool_call_id": call_id, "name": step.action, "content": step.observation or ""})
    messages.append({"role": "assistant", "content": dialogue.final_answer or ""})
    return messages


def to_chat_example(dialogue: Trajectory, tools: list[dict[str, Any]]) -> dict[str, Any]:
    return {"messages": to_messages(dialogue), "tools": json.dumps(tools, ensure_ascii=False)}
