"""The assistant agent's ReAct loop (issue #3): one instruction → one ``Dialogue`` record.

Each turn is parsed (``tasks.react``); an unusable turn gets an observation that says what is wrong
and the dialogue goes on. A call goes to the executor (spec check, then simulation); ``ask_user``
goes to the user agent. The loop stops at a final answer, at the step limit, or after
``max_errors`` errors in a row (the assistant is then told to answer, and gives up if it does not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.ids import content_id
from schemas.records import Dialogue, Step
from tasks.executor import Completer, Executor, ExecutorState
from tasks.prompts import load_prompt
from tasks.react import ASK_USER, parse_step, render_json_step, step_schema
from tasks.tool_calling import read_tool_turn, render_tool_turn, tool_turn_messages
from tasks.user_agent import answer_question, question_of

MUST_ANSWER = "You have made several errors in a row. Give your Final Answer now."


@dataclass(frozen=True)
class AssistantConfig:
    """``step_mode``: ``react`` (free-text Thought/Action/Action Input, as in the paper), ``json``
    (each turn a JSON object under a schema whose action is an enum of the functions; for models
    that cannot keep the text format, such as the embedded one) or ``tools`` (the backend's native
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
    toolset: tuple[str, ...] = ()  # a large API: the slice of functions shown (tasks.toolset_slice); () = all


def assistant_prompt_name(step_mode: str) -> str:
    return "assistant_tools" if step_mode == "tools" else "assistant"


def prompt_versions(executor: Executor, step_mode: str = "react") -> dict[str, str]:
    """The prompt versions a dialogue depends on (stamped on it, part of its ID); the executor's is
    its prompt's, or ``real-http`` for the real one."""
    return {"assistant": load_prompt(assistant_prompt_name(step_mode)).version, "executor": executor.version,
            "user": load_prompt("user_answer").version}


def dialogue_id_for(task: Task, models: dict[str, str], prompt_versions: dict[str, str], cfg: AssistantConfig) -> str:
    return content_id("dialogue", task.doc_id, task.instruction_id, task.instruction, models, prompt_versions, cfg.step_limit,
                      cfg.max_errors, cfg.max_tokens, cfg.temperature, cfg.seed, cfg.step_mode, *([list(task.toolset)] if task.toolset else []))


async def run_dialogue(task: Task, functions_doc: str, function_names: list[str], llm: Completer, executor: Executor,
                       models: dict[str, str], cfg: AssistantConfig = AssistantConfig(),
                       tools: list[dict[str, Any]] | None = None) -> Dialogue:
    """Simulate one dialogue to its end. Never raises for bad LLM output. ``tools`` (step mode
    ``tools``): the function definitions, from ``tasks.tool_calling.tool_definitions``."""
    if cfg.step_mode == "tools" and not tools:
        raise ValueError("step mode 'tools' needs the tool definitions")
    prompt = load_prompt(assistant_prompt_name(cfg.step_mode))
    versions = prompt_versions(executor, cfg.step_mode)
    messages: list[dict[str, Any]] = prompt.render(functions=functions_doc, instruction=task.instruction)
    state = ExecutorState(scope=task.instruction_id)
    steps: list[Step] = []
    final_answer, stop_reason = None, "step_limit"
    n_calls = n_errors = in_a_row = 0
    tokens = [0, 0]
    cost: float | None = 0.0
    told_to_answer = False
    schema = step_schema(function_names) if cfg.step_mode == "json" else None

    def account(prompt_tokens: int, completion_tokens: int, call_cost: float | None) -> None:
        nonlocal cost
        tokens[0] += prompt_tokens
        tokens[1] += completion_tokens
        cost = None if cost is None or call_cost is None else cost + call_cost

    for index in range(cfg.step_limit):
        extra: dict[str, Any] = {"json_schema": schema, "schema_name": "assistant_step"} if schema else {}
        if cfg.step_mode == "tools":
            extra = {"tools": tools}
        r = await llm.acomplete("assistant", messages, prompt_version=prompt.version, subject_id=task.api_id,
                                max_tokens=cfg.max_tokens, temperature=cfg.temperature, seed=cfg.seed + index, **extra)
        account(r.prompt_tokens, r.completion_tokens, r.cost_usd)
        if not r.ok:
            steps.append(Step(index, "", "", None, None, None, None, False, "llm_error", r.latency_s))
            stop_reason = "llm_error"
            break
        if cfg.step_mode == "tools":
            text, parsed = render_tool_turn(r.text, r.tool_calls), read_tool_turn(r.text, r.tool_calls, function_names)
        else:
            text = r.text if schema is None else (render_json_step(r.parsed) or r.text)
            parsed = parse_step(text, function_names)
        if parsed.kind == "final":
            steps.append(Step(index, text, parsed.thought, None, None, None, None, True, None, r.latency_s))
            final_answer, stop_reason = parsed.final_answer, "final_answer"
            break
        if parsed.kind == "invalid":
            observation, status, valid, error = parsed.feedback(), None, False, parsed.error
        elif parsed.action == ASK_USER:
            answer, error, ur = await answer_question(llm, task.instruction, question_of(parsed.action_input), task.details,
                                                task.api_id, seed=cfg.seed + index)
            account(ur.prompt_tokens, ur.completion_tokens, ur.cost_usd)
            observation, status, valid = f"User: {answer}", None, error is None
        else:
            n_calls += 1
            exe = await executor.execute(parsed.action, parsed.action_input, state)
            account(exe.prompt_tokens, exe.completion_tokens, exe.cost_usd)
            observation, status = exe.observation, exe.status
            valid = exe.status < 400
            error = None if valid else (exe.problem.split(":", 1)[0] if exe.problem else exe.check.problems[0].code)
        if valid:
            in_a_row = 0
        else:
            n_errors += 1
            in_a_row += 1
        steps.append(Step(index, text, parsed.thought, parsed.action or None,
                          parsed.action_input, observation, status, valid, None if valid else error, r.latency_s))
        if told_to_answer:
            stop_reason = "gave_up"
            break
        if in_a_row >= cfg.max_errors:
            observation = f"{observation}\n{MUST_ANSWER}"
            told_to_answer = True
        if cfg.step_mode == "tools":
            messages = messages + tool_turn_messages(r.text, r.tool_calls, observation)
        else:
            messages = messages + [{"role": "assistant", "content": r.text.strip()},
                                   {"role": "user", "content": f"Observation: {observation}"}]
    return Dialogue(
        dialogue_id=dialogue_id_for(task, models, versions, cfg), api_id=task.api_id, doc_id=task.doc_id,
        instruction_id=task.instruction_id, instruction=task.instruction, instruction_kind=task.kind,
        steps=[s.to_dict() for s in steps], final_answer=final_answer, stop_reason=stop_reason, n_calls=n_calls,
        n_errors=n_errors, models=models, prompt_versions=versions, prompt_tokens=tokens[0], completion_tokens=tokens[1],
        cost_usd=cost, partner_api_ids=list(task.partner_api_ids), toolset=list(task.toolset),
    )
