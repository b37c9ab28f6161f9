"""The assistant agent's ReAct loop (issue #3): one instruction → one ``Dialogue`` record.

Each turn is parsed (``tasks.simulation.react``); an unusable turn gets an observation that says what is wrong
and the dialogue goes on. A call goes to the executor (spec check, then simulation); ``ask_user``
goes to the user agent. The loop stops at a final answer, at the step limit, or after
``max_errors`` errors in a row (the assistant is then told to answer, and gives up if it does not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.ids import content_id
from schemas.records import Dialogue, Step
from tasks.llm.types import Completer
from tasks.prompts import load_prompt
from tasks.simulation.executor import Executor, ExecutorState
from tasks.simulation.react import ASK_USER, ReactStep
from tasks.simulation.step_modes import JSON_PROTOCOL, Turn, step_mode
from tasks.simulation.user_agent import answer_question, question_of

MUST_ANSWER = "You have made several errors in a row. Give your Final Answer now."


@dataclass(frozen=True)
class AssistantConfig:
    """``step_mode``: ``react`` (free-text Thought/Action/Action Input, as in the paper), ``json``
    (each turn a JSON object under a schema made for that turn, ``tasks.simulation.step_modes``; for
    models that cannot keep the text format, such as the embedded one) or ``tools`` (the backend's native
    function calling: OpenAI ``tools`` / ``tool_calls``)."""

    step_mode: str = "react"
    step_limit: int = 8
    max_errors: int = 3
    max_tokens: int = 400
    temperature: float = 0.2
    seed: int = 0


@dataclass(frozen=True)
class Task:
    """What a dialogue is about: the instruction and the documented API it targets."""

    api_id: str
    doc_id: str
    instruction_id: str
    instruction: str
    kind: str = "normal"
    details: str = ""  # for missing-detail instructions: what the user knows but did not say
    partner_api_ids: tuple[str, ...] = ()  # multi-API: the other APIs whose functions are offered
    toolset: tuple[str, ...] = ()  # a large API: the slice of functions shown (tasks.simulation.toolset_slice); () = all


def assistant_prompt_name(step_mode: str) -> str:
    return "assistant_tools" if step_mode == "tools" else "assistant"


def prompt_versions(executor: Executor, step_mode: str = "react") -> dict[str, str]:
    """The prompt versions a dialogue depends on (stamped on it, part of its ID); the executor's is
    its prompt's, or ``real-http`` for the real one."""
    versions = {"assistant": load_prompt(assistant_prompt_name(step_mode)).version, "executor": executor.version,
                "user": load_prompt("user_answer").version}
    return {**versions, "protocol": JSON_PROTOCOL} if step_mode == "json" else versions


def dialogue_id_for(task: Task, models: dict[str, str], prompt_versions: dict[str, str], cfg: AssistantConfig) -> str:
    return content_id("dialogue", task.doc_id, task.instruction_id, task.instruction, models, prompt_versions, cfg.step_limit,
                      cfg.max_errors, cfg.max_tokens, cfg.temperature, cfg.seed, cfg.step_mode, *([list(task.toolset)] if task.toolset else []))


class _Tally:
    """What a dialogue has spent and how its steps went, as it runs."""

    def __init__(self) -> None:
        self.tokens = [0, 0]
        self.cost: float | None = 0.0
        self.n_calls = self.n_errors = self.in_a_row = self.calls_ok = 0

    def account(self, prompt_tokens: int, completion_tokens: int, call_cost: float | None) -> None:
        self.tokens[0] += prompt_tokens
        self.tokens[1] += completion_tokens
        self.cost = None if self.cost is None or call_cost is None else self.cost + call_cost

    def step(self, valid: bool, called: bool = False) -> None:
        if valid:
            self.in_a_row = 0
            self.calls_ok += called
        else:
            self.n_errors += 1
            self.in_a_row += 1


async def _act(parsed: ReactStep, task: Task, llm: Completer, executor: Executor, state: ExecutorState, tally: _Tally,
               seed: int) -> tuple[str, int | None, bool, str | None]:
    """(observation, status, valid, error) of a turn that is not a final answer: feedback on an
    invalid turn, the user's answer to ``ask_user``, or the executor's answer to a call."""
    if parsed.kind == "invalid":
        return parsed.feedback(), None, False, parsed.error
    if parsed.action == ASK_USER:
        answer, error, ur = await answer_question(llm, task.instruction, question_of(parsed.action_input), task.details,
                                                  task.api_id, seed=seed)
        tally.account(ur.prompt_tokens, ur.completion_tokens, ur.cost_usd)
        return f"User: {answer}", None, error is None, error
    tally.n_calls += 1
    exe = await executor.execute(parsed.action, parsed.action_input, state)
    tally.account(exe.prompt_tokens, exe.completion_tokens, exe.cost_usd)
    valid = exe.status < 400
    error = None if valid else str(exe.problem.code if exe.problem else exe.check.problems[0].code)
    return exe.observation, exe.status, valid, error


async def run_dialogue(task: Task, functions_doc: str, function_names: list[str], llm: Completer, executor: Executor,
                       models: dict[str, str], cfg: AssistantConfig = AssistantConfig(),
                       tools: list[dict[str, Any]] | None = None) -> Dialogue:
    """Simulate one dialogue to its end. Never raises for bad LLM output. ``tools`` (step mode
    ``tools``): the function definitions, from ``tasks.simulation.tool_calling.tool_definitions``."""
    mode = step_mode(cfg.step_mode, function_names, tools)
    prompt = load_prompt(assistant_prompt_name(cfg.step_mode))
    messages: list[dict[str, Any]] = prompt.render(functions=functions_doc, instruction=task.instruction)
    state, tally, steps = ExecutorState(scope=task.instruction_id), _Tally(), []
    final_answer, stop_reason, told_to_answer = None, "step_limit", False
    for index in range(cfg.step_limit):
        turn = Turn(index, tally.calls_ok, told_to_answer or index == cfg.step_limit - 1)
        r = await llm.acomplete("assistant", messages, prompt_version=prompt.version, subject_id=task.api_id,
                                max_tokens=cfg.max_tokens, temperature=cfg.temperature, seed=cfg.seed + index, **mode.request(turn))
        tally.account(r.prompt_tokens, r.completion_tokens, r.cost_usd)
        if not r.ok:
            steps.append(Step(index, "", "", None, None, None, None, False, "llm_error", r.latency_s))
            stop_reason = "llm_error"
            break
        text, parsed = mode.read(r)
        if parsed.kind == "final":
            steps.append(Step(index, text, parsed.thought, None, None, None, None, True, None, r.latency_s))
            final_answer, stop_reason = parsed.final_answer, "final_answer"
            break
        observation, status, valid, error = await _act(parsed, task, llm, executor, state, tally, cfg.seed + index)
        tally.step(valid, called=parsed.kind == "action" and parsed.action != ASK_USER)
        steps.append(Step(index, text, parsed.thought, parsed.action or None,
                          parsed.action_input, observation, status, valid, None if valid else error, r.latency_s))
        if told_to_answer:
            stop_reason = "gave_up"
            break
        if tally.in_a_row >= cfg.max_errors:
            observation, told_to_answer = f"{observation}\n{MUST_ANSWER}", True
        messages = messages + mode.follow(r, observation)
    return _dialogue(task, models, prompt_versions(executor, cfg.step_mode), cfg, steps, final_answer, stop_reason, tally)


def _dialogue(task: Task, models: dict[str, str], versions: dict[str, str], cfg: AssistantConfig, steps: list[Step],
              final_answer: str | None, stop_reason: str, tally: _Tally) -> Dialogue:
    return Dialogue(
        dialogue_id=dialogue_id_for(task, models, versions, cfg), api_id=task.api_id, doc_id=task.doc_id,
        instruction_id=task.instruction_id, instruction=task.instruction, instruction_kind=task.kind,
        steps=steps, final_answer=final_answer, stop_reason=stop_reason, n_calls=tally.n_calls,
        n_errors=tally.n_errors, models=models, prompt_versions=versions, prompt_tokens=tally.tokens[0],
        completion_tokens=tally.tokens[1], cost_usd=tally.cost, partner_api_ids=list(task.partner_api_ids),
        toolset=list(task.toolset),
    )
