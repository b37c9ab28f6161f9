"""The assistant agent (issue #3, issue 21): one instruction → one ``Dialogue`` record.

``run_conversation`` serves the instruction and then the follow-up turns the task plans
(``tasks.simulation.follow_ups``): after each answer the user agent writes the next request, seeing the
conversation so far, and the assistant serves it with a step limit of its own (``tasks.simulation.session``
runs the turns: parsing, the executor, ``ask_user``, parallel calls, the error budget). ``run_dialogue`` is
the same, returning the dialogue alone. The config, the task and the content ID of a dialogue live here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.ids import content_id
from schemas.records import Dialogue, FollowUp
from tasks.llm.types import Completer
from tasks.prompts import load_prompt
from tasks.simulation.executor import Executor
from tasks.simulation.follow_ups import Exchange, write_follow_up
from tasks.simulation.session import Session, SessionLimits
from tasks.simulation.step_modes import json_protocol, step_mode


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
    max_parallel_calls: int = 1  # calls one turn may make at once (json and tools modes; react keeps one)

    @property
    def parallel(self) -> int:
        """The calls a turn may make at once in this step mode."""
        return self.max_parallel_calls if self.step_mode in ("json", "tools") else 1


def parallel_rule(cfg: AssistantConfig) -> str:
    """The assistant prompt's sentence on how many functions a step calls."""
    if cfg.parallel <= 1:
        return "Call one function per step."
    return (f"Call one function per step; when several calls do not depend on each other's results, make them in one step "
            f"(at most {cfg.parallel}).")


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
    follow_ups: tuple[str, ...] = ()  # the kinds of the user's turns after the first answer (tasks.simulation.follow_ups)
    context_id: str | None = None  # the tool context the assistant is shown (schemas.context_records); not part of the ID


def assistant_prompt_name(step_mode: str) -> str:
    return "assistant_tools" if step_mode == "tools" else "assistant"


def prompt_versions(executor: Executor, step_mode: str = "react", follow_ups: bool = False,
                    max_parallel_calls: int = 1) -> dict[str, str]:
    """The prompt versions a dialogue depends on (stamped on it, part of its ID); the executor's is
    its prompt's, or ``real-http`` for the real one; the follow-up prompt's only where follow-ups are planned;
    json mode's protocol (``json_protocol``)."""
    versions = {"assistant": load_prompt(assistant_prompt_name(step_mode)).version, "executor": executor.version,
                "user": load_prompt("user_answer").version}
    if follow_ups:
        versions["user_follow_up"] = load_prompt("user_follow_up").version
    return {**versions, "protocol": json_protocol(max_parallel_calls)} if step_mode == "json" else versions


def dialogue_id_for(task: Task, models: dict[str, str], prompt_versions: dict[str, str], cfg: AssistantConfig) -> str:
    """The dialogue's content ID; ``prompt_versions`` as ``prompt_versions()`` gives them (the follow-up prompt's
    and json mode's protocol are set here from the task and config, so a caller may pass one set for all its tasks)."""
    if task.follow_ups:
        prompt_versions = {**prompt_versions, "user_follow_up": load_prompt("user_follow_up").version}
    if cfg.step_mode == "json":
        prompt_versions = {**prompt_versions, "protocol": json_protocol(cfg.parallel)}
    return content_id("dialogue", task.doc_id, task.instruction_id, task.instruction, models, prompt_versions, cfg.step_limit,
                      cfg.max_errors, cfg.max_tokens, cfg.temperature, cfg.seed, cfg.step_mode,
                      *([list(task.toolset)] if task.toolset else []), *([list(task.follow_ups)] if task.follow_ups else []),
                      *([f"parallel={cfg.parallel}"] if cfg.parallel > 1 else []))


@dataclass
class Conversation:
    """A simulated dialogue and, when a planned follow-up turn was not written, why (``write_follow_up``'s
    reason): the dialogue then ends at the answer before it."""

    dialogue: Dialogue
    follow_up_problem: str | None = None


async def run_dialogue(task: Task, functions_doc: str, function_names: list[str], llm: Completer, executor: Executor,
                       models: dict[str, str], cfg: AssistantConfig = AssistantConfig(),
                       tools: list[dict[str, Any]] | None = None) -> Dialogue:
    """Simulate one dialogue to its end. Never raises for bad LLM output. ``tools`` (step mode
    ``tools``): the function definitions, from ``tasks.simulation.tool_calling.tool_definitions``."""
    return (await run_conversation(task, functions_doc, function_names, llm, executor, models, cfg, tools)).dialogue


async def run_conversation(task: Task, functions_doc: str, function_names: list[str], llm: Completer, executor: Executor,
                           models: dict[str, str], cfg: AssistantConfig = AssistantConfig(),
                           tools: list[dict[str, Any]] | None = None) -> Conversation:
    """``run_dialogue`` with the follow-up turns ``task.follow_ups`` plans: after each answer the user agent
    writes the next request (of that kind, seeing the conversation so far) and the assistant serves it with
    a step limit of its own. A turn that does not end in an answer ends the dialogue."""
    prompt = load_prompt(assistant_prompt_name(cfg.step_mode))
    mode = step_mode(cfg.step_mode, function_names, tools, cfg.parallel)
    messages = prompt.render(functions=functions_doc, instruction=task.instruction, parallel=parallel_rule(cfg))
    session = Session(task, llm, executor, mode, SessionLimits(cfg.step_limit, cfg.max_errors, cfg.max_tokens, cfg.temperature,
                                                               cfg.seed), messages, prompt.version)
    exchanges: list[Exchange] = []
    follow_ups: list[FollowUp] = []
    problem, request = None, task.instruction
    for turn, kind in enumerate(("", *task.follow_ups)):
        if turn:
            request, problem, ur = await write_follow_up(llm, kind, exchanges, functions_doc, subject_id=task.api_id,
                                                         seed=cfg.seed + session.index)
            session.tally.account(ur.prompt_tokens, ur.completion_tokens, ur.cost_usd)
            if problem is not None:
                break
            follow_ups.append(FollowUp(turn, kind, request))
            session.messages += [{"role": "assistant", "content": session.last_text}, {"role": "user", "content": request}]
        answer = await session.serve(turn, request)
        if answer is None:
            break
        exchanges.append(Exchange(request, answer))
    versions = prompt_versions(executor, cfg.step_mode, bool(task.follow_ups), cfg.parallel)
    dialogue = _dialogue(task, models, versions, cfg, session, follow_ups)
    return Conversation(dialogue, problem)


def _dialogue(task: Task, models: dict[str, str], versions: dict[str, str], cfg: AssistantConfig, session: Session,
              follow_ups: list[FollowUp]) -> Dialogue:
    tally = session.tally
    return Dialogue(
        dialogue_id=dialogue_id_for(task, models, versions, cfg), api_id=task.api_id, doc_id=task.doc_id,
        instruction_id=task.instruction_id, instruction=task.instruction, instruction_kind=task.kind,
        steps=session.steps, final_answer=session.final_answer, stop_reason=session.stop_reason, n_calls=tally.n_calls,
        n_errors=tally.n_errors, models=models, prompt_versions=versions, prompt_tokens=tally.tokens[0],
        completion_tokens=tally.tokens[1], cost_usd=tally.cost, partner_api_ids=list(task.partner_api_ids),
        toolset=list(task.toolset), follow_ups=follow_ups, context_id=task.context_id,
    )
