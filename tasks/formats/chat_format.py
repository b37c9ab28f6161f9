"""A dialogue as a conversational training example: OpenAI-style ``messages`` and ``tools``.

In: a trajectory (a ``Dialogue`` record, or any ``schemas.views.Trajectory``) and its tool definitions (``tasks.simulation.tool_calling.tool_definitions``).
Out: ``{"messages": [...], "tools": "<JSON text>"}`` — the shape TRL's SFTTrainer takes (it decodes
a ``tools`` string itself). A call turn is an assistant message with the thought as content and its
``tool_calls`` (several for parallel calls), each answered by a ``tool`` message carrying its observation;
each user turn (the instruction, then any follow-ups) ends in an assistant message with its answer. Tool-call ``arguments`` are JSON text, as the OpenAI API sends
them: Arrow (Parquet, ``datasets``) would merge differently-keyed argument objects into one struct
and fill the gaps with nulls. Decode them before a chat template that wants a mapping.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from schemas.dialogue_records import assistant_turns, user_turns
from schemas.records import Step
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
    """The dialogue's turns as chat messages (only steps that parsed; a dialogue in the clean corpus has no others):
    per user turn the user's message, its calls and their results, and the answer. The parallel calls of
    one assistant turn (steps sharing an index) are one message with several ``tool_calls``."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for request, steps, answer in user_turns(dialogue):
        messages.append({"role": "user", "content": request})
        for group in call_groups(steps):
            ids = [f"call_{s.index}" + (f"_{s.call}" if s.call else "") for s in group]
            messages.append({"role": "assistant", "content": group[0].thought or "", "tool_calls": [
                {"id": i, "type": "function", "function": {"name": s.action, "arguments": json.dumps(s.action_input, ensure_ascii=False)}}
                for i, s in zip(ids, group, strict=True)]})
            messages += [{"role": "tool", "tool_call_id": i, "name": s.action, "content": s.observation or ""}
                         for i, s in zip(ids, group, strict=True)]
        messages.append({"role": "assistant", "content": answer})
    return messages


def call_groups(steps: Sequence[Step]) -> list[list[Step]]:
    """The steps that called something (``ask_user`` included), grouped by assistant turn (parallel calls share
    a group)."""
    return assistant_turns([s for s in steps if s.action])


def to_chat_example(dialogue: Trajectory, tools: list[dict[str, Any]]) -> dict[str, Any]:
    return {"messages": to_messages(dialogue), "tools": json.dumps(tools, ensure_ascii=False)}
