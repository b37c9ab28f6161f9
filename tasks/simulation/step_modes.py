"""How the assistant's turns are asked for and read back: one strategy per step mode.

``react``: free-text Thought / Action / Action Input, as in the paper. ``json``: each turn a JSON
object under a schema made for that turn (for models that cannot keep the text format, such as the
embedded one): one alternative per function, whose arguments follow that operation's parameter
schema, and the choices narrow as the dialogue goes — the first turn calls a function (or asks the
user), after a successful call the turn calls again or answers, after ``JSON_MAX_CALLS`` successful
calls, on the last step, or once told to answer, the only choice is a final answer; with parallel calls
allowed, a turn may instead hold a list of 2 … ``max_parallel_calls`` calls (``json_protocol`` names the
version). ``tools``: the backend's native function calling (OpenAI ``tools`` / ``tool_calls``; several
``tool_calls`` in one reply are parallel calls). Each reads a turn into the same ``ReactStep`` (its
``parallel`` calls beside it), so the dialogue loop, the records and the training data do not depend on the mode.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

from tasks.llm.types import LLMResult
from tasks.simulation.react import ASK_USER, FINAL, ReactStep, parse_step, read_json_calls, render_json_calls, render_json_step
from tasks.simulation.tool_calling import read_tool_turn, render_tool_turn, tool_turn_messages

STEP_MODES = ("react", "json", "tools")
JSON_PROTOCOL = "json-turns/1"  # stamped on json-mode dialogues (part of their ID): the turn schemas below


def json_protocol(max_parallel_calls: int = 1) -> str:
    """The protocol stamped on a json-mode dialogue: ``json-turns/1``, or with parallel calls the version
    whose turns may hold a list of calls, and how many."""
    return JSON_PROTOCOL if max_parallel_calls <= 1 else f"json-turns/2;parallel={max_parallel_calls}"
JSON_MAX_CALLS = 2  # json mode: successful calls after which the only choice is a final answer


@dataclass(frozen=True)
class Turn:
    """Where the dialogue stands when a turn is asked for."""

    index: int = 0
    calls_ok: int = 0  # calls that got a successful response so far
    must_answer: bool = False  # the last step, or told to answer after errors in a row


class StepMode(Protocol):
    """``request``: the completion parameters of a turn; ``read``: the turn as text (what the record
    keeps) and as a step (with its parallel calls); ``follow``: the messages that carry the turn and its
    observations (one per call, in order) on."""

    def request(self, turn: Turn) -> dict[str, Any]: ...

    def read(self, result: LLMResult) -> tuple[str, ReactStep]: ...

    def follow(self, result: LLMResult, observations: list[str]) -> list[dict[str, Any]]: ...


class ReactMode:
    def __init__(self, function_names: list[str]) -> None:
        self.function_names = function_names

    def request(self, turn: Turn) -> dict[str, Any]:
        return {}

    def read(self, result: LLMResult) -> tuple[str, ReactStep]:
        return result.text, parse_step(result.text, self.function_names)

    def follow(self, result: LLMResult, observations: list[str]) -> list[dict[str, Any]]:
        said = observations[0] if len(observations) == 1 else "\n".join(f"[{n}] {o}" for n, o in enumerate(observations, 1))
        return [{"role": "assistant", "content": result.text.strip()}, {"role": "user", "content": f"Observation: {said}"}]


class JsonMode(ReactMode):
    def __init__(self, function_names: list[str], parameters: dict[str, dict[str, Any]] | None = None,
                 max_parallel_calls: int = 1) -> None:
        super().__init__(function_names)
        self.calls = [_call_option(name, (parameters or {}).get(name)) for name in function_names]
        self.parallel = [_parallel_option(self.calls, max_parallel_calls)] if max_parallel_calls > 1 and self.calls else []

    def request(self, turn: Turn) -> dict[str, Any]:
        return {"json_schema": self.turn_schema(turn), "schema_name": "assistant_step"}

    def turn_schema(self, turn: Turn) -> dict[str, Any]:
        """The choices of this turn (see the module docstring)."""
        if turn.must_answer or turn.calls_ok >= JSON_MAX_CALLS or not self.calls:
            options = [FINAL_OPTION]
        elif turn.calls_ok == 0:
            options = [*self.calls, *self.parallel, *([ASK_OPTION] if turn.index == 0 else [])]
        else:
            options = [*self.calls, *self.parallel, FINAL_OPTION]
        return options[0] if len(options) == 1 else _hoist_definitions({"anyOf": options})

    def read(self, result: LLMResult) -> tuple[str, ReactStep]:
        value = result.parsed if result.parsed is not None else cut_final_answer(result.text)
        if isinstance(value, dict) and "calls" in value:
            return render_json_calls(value), read_json_calls(value, self.function_names)
        text = render_json_step(value) or result.text
        return text, parse_step(text, self.function_names)


_CUT_FINAL = re.compile(r'"action"\s*:\s*"final_answer"\s*,\s*"final_answer"\s*:\s*"((?:[^"\\]|\\.)*)', re.DOTALL)


def cut_final_answer(text: str | None, keep: int = 600) -> dict[str, Any] | None:
    """A final-answer turn the token limit cut off inside its answer (a small model runs on): the
    answer as far as it got, to its last whole sentence or word within ``keep`` characters; None for
    anything else."""
    m = _CUT_FINAL.search(text or "")
    if m is None:
        return None
    try:
        answer = json.loads(f'"{m.group(1).rstrip(chr(92))}"', strict=False)
    except ValueError:
        return None
    answer = " ".join(answer.split())[:keep]
    end = max(answer.rfind(". "), answer.rfind("! "), answer.rfind("? "))
    answer = answer[:end + 1] if end > 0 else answer.rsplit(" ", 1)[0]  # to the last whole sentence, else the last whole word
    thought = re.search(r'"thought"\s*:\s*"((?:[^"\\]|\\.)*)"', text or "")
    return {"thought": thought.group(1) if thought else "", "action": FINAL, "final_answer": answer} if answer.strip() else None


DEFINITION_KEYS = ("$defs", "definitions")  # where a parameter schema keeps the targets of its "#/…" refs


def _turn(action: dict[str, Any], **fields: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["thought", "action", *fields], "additionalProperties": False,
            "properties": {"thought": {"type": "string"}, "action": action, **fields}}


def _call_option(name: str, parameters: dict[str, Any] | None) -> dict[str, Any]:
    """A call of ``name`` with arguments under its parameter schema, no argument it does not declare
    (any JSON object when the schema is not known)."""
    if not isinstance(parameters, dict) or not parameters:
        return _turn({"const": name}, action_input={"type": "object"})
    schema = copy.deepcopy(parameters)
    definitions = {key: schema.pop(key) for key in DEFINITION_KEYS if isinstance(schema.get(key), dict)}
    if schema.get("type") == "object":
        schema["additionalProperties"] = False
    return {**_turn({"const": name}, action_input=schema), **definitions}


def _parallel_option(calls: list[dict[str, Any]], most: int) -> dict[str, Any]:
    """A turn of 2 … ``most`` calls made at once: a thought and a list whose items are the call options
    without their thoughts (their definitions stay with the call options, at the schema's root)."""
    items = []
    for option in calls:
        props = {k: v for k, v in option["properties"].items() if k != "thought"}
        items.append({"type": "object", "required": ["action", "action_input"], "additionalProperties": False, "properties": props})
    return {"type": "object", "required": ["thought", "calls"], "additionalProperties": False, "properties": {
        "thought": {"type": "string"},
        "calls": {"type": "array", "minItems": 2, "maxItems": most, "items": items[0] if len(items) == 1 else {"anyOf": items}}}}


def _hoist_definitions(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its options' ``$defs``/``definitions`` moved to its root, where their ``#/…`` refs
    point (the operations of one spec share one set of definitions)."""
    options = []
    for option in schema["anyOf"]:
        option = dict(option)
        for key in DEFINITION_KEYS:
            if isinstance(option.get(key), dict):
                schema.setdefault(key, {}).update(option.pop(key))
        options.append(option)
    return {**schema, "anyOf": options}


FINAL_OPTION = _turn({"const": FINAL}, final_answer={"type": "string", "minLength": 1})
ASK_OPTION = _turn({"const": ASK_USER}, action_input={"type": "object", "required": ["question"], "additionalProperties": False,
                                                      "properties": {"question": {"type": "string", "minLength": 1}}})


class ToolsMode:
    def __init__(self, function_names: list[str], tools: list[dict[str, Any]], max_parallel_calls: int = 1) -> None:
        self.function_names = function_names
        self.tools = tools
        self.max_parallel_calls = max_parallel_calls

    def request(self, turn: Turn) -> dict[str, Any]:
        return {"tools": self.tools}

    def read(self, result: LLMResult) -> tuple[str, ReactStep]:
        return (render_tool_turn(result.text, result.tool_calls),
                read_tool_turn(result.text, result.tool_calls, self.function_names, self.max_parallel_calls))

    def follow(self, result: LLMResult, observations: list[str]) -> list[dict[str, Any]]:
        return tool_turn_messages(result.text, result.tool_calls, observations)


def step_mode(name: str, function_names: list[str], tools: list[dict[str, Any]] | None = None,
              max_parallel_calls: int = 1) -> StepMode:
    """The strategy for ``name`` (one of ``STEP_MODES``); ``tools`` mode needs the tool definitions. A turn may
    hold up to ``max_parallel_calls`` calls in ``json`` and ``tools`` mode (``react`` keeps the paper's one)."""
    if name == "tools":
        if not tools:
            raise ValueError("step mode 'tools' needs the tool definitions")
        return ToolsMode(function_names, tools, max_parallel_calls)
    if name == "json":
        return JsonMode(function_names, {t["function"]["name"]: t["function"].get("parameters") for t in tools or []
                                         if isinstance(t, dict) and isinstance(t.get("function"), dict)}, max_parallel_calls)
    if name == "react":
        return ReactMode(function_names)
    raise ValueError(f"unknown step mode {name!r}: one of {', '.join(STEP_MODES)}")
