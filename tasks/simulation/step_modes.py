"""How the assistant's turns are asked for and read back: one strategy per step mode.

``react``: free-text Thought / Action / Action Input, as in the paper. ``json``: each turn a JSON
object under a schema whose action is an enum of the functions (for models that cannot keep the
text format, such as the embedded one). ``tools``: the backend's native function calling (OpenAI
``tools`` / ``tool_calls``). Each reads a turn into the same ``ReactStep``, so the dialogue loop,
the records and the training data do not depend on the mode.
"""

from __future__ import annotations

from typing import Any, Protocol

from tasks.llm.types import LLMResult
from tasks.simulation.react import ReactStep, parse_step, render_json_step, step_schema
from tasks.simulation.tool_calling import read_tool_turn, render_tool_turn, tool_turn_messages

STEP_MODES = ("react", "json", "tools")


class StepMode(Protocol):
    """``request``: the completion parameters of a turn; ``read``: the turn as text (what the record
    keeps) and as a step; ``follow``: the messages that carry the turn and its observation on."""

    def request(self) -> dict[str, Any]: ...

    def read(self, result: LLMResult) -> tuple[str, ReactStep]: ...

    def follow(self, result: LLMResult, observation: str) -> list[dict[str, Any]]: ...


class ReactMode:
    def __init__(self, function_names: list[str]) -> None:
        self.function_names = function_names

    def request(self) -> dict[str, Any]:
        return {}

    def read(self, result: LLMResult) -> tuple[str, ReactStep]:
        return result.text, parse_step(result.text, self.function_names)

    def follow(self, result: LLMResult, observation: str) -> list[dict[str, Any]]:
        return [{"role": "assistant", "content": result.text.strip()}, {"role": "user", "content": f"Observation: {observation}"}]


class JsonMode(ReactMode):
    def __init__(self, function_names: list[str]) -> None:
        super().__init__(function_names)
        self.schema = step_schema(function_names)

    def request(self) -> dict[str, Any]:
        return {"json_schema": self.schema, "schema_name": "assistant_step"}

    def read(self, result: LLMResult) -> tuple[str, ReactStep]:
        text = render_json_step(result.parsed) or result.text
        return text, parse_step(text, self.function_names)


class ToolsMode:
    def __init__(self, function_names: list[str], tools: list[dict[str, Any]]) -> None:
        self.function_names = function_names
        self.tools = tools

    def request(self) -> dict[str, Any]:
        return {"tools": self.tools}

    def read(self, result: LLMResult) -> tuple[str, ReactStep]:
        return render_tool_turn(result.text, result.tool_calls), read_tool_turn(result.text, result.tool_calls, self.function_names)

    def follow(self, result: LLMResult, observation: str) -> list[dict[str, Any]]:
        return tool_turn_messages(result.text, result.tool_calls, observation)


def step_mode(name: str, function_names: list[str], tools: list[dict[str, Any]] | None = None) -> StepMode:
    """The strategy for ``name`` (one of ``STEP_MODES``); ``tools`` mode needs the tool definitions."""
    if name == "tools":
        if not tools:
            raise ValueError("step mode 'tools' needs the tool definitions")
        return ToolsMode(function_names, tools)
    if name == "json":
        return JsonMode(function_names)
    if name == "react":
        return ReactMode(function_names)
    raise ValueError(f"unknown step mode {name!r}: one of {', '.join(STEP_MODES)}")
