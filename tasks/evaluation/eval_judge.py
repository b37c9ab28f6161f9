"""The paper's evaluation judge: one solution → process and response correctness (yes/no/uncertain).

In: an async completer (``LLMClient``), the API's documentation, the instruction, the golden calls,
the model's trajectory (steps with observations) and its final response. Out: a ``JudgeVerdict``,
never an exception. ``read_judgement`` takes JSON (the schema-constrained reply) or the paper's text
layout (``Process Correctness: Yes`` … ``Final Response Correctness: No``); anything else is
``unparsable``, a failed call ``error``. A run that made no call where calls were expected is
failed without asking the judge (``no_call``), as in the paper.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from schemas import load_schema, validate_record
from schemas.records import Step
from tasks.curation.semantic_judge import render_trajectory
from tasks.llm.types import Completer, LLMResult
from tasks.prompts import load_prompt
from tasks.simulation.react import ASK_USER

MAX_DOC_CHARS = 6000
_TEXT = re.compile(r"(process|response)\s*correct(?:ness)?\s*[:=-]\s*\**\s*(yes|no|uncertain)", re.IGNORECASE)


@dataclass(frozen=True)
class JudgeVerdict:
    status: str  # ok | unparsable | error | off | no_call
    process: str | None  # yes | no | uncertain
    response: str | None
    reason: str

    @property
    def overall(self) -> bool:
        return self.process == "yes" and self.response == "yes"


def prompt_version() -> str:
    return load_prompt("eval_judge").version


def read_judgement(result: LLMResult) -> JudgeVerdict:
    """The judge's reply as a verdict."""
    if not result.ok:
        return JudgeVerdict("error", None, None, (result.error or "")[:300])
    data = result.parsed
    text = (result.text or "").strip()
    if data is None:
        try:
            data = json.loads(text.removeprefix("```json").removeprefix("```").removesuffix("```"))
        except ValueError:
            data = None
    if isinstance(data, dict):
        lowered = {k: (v.strip().casefold() if isinstance(v, str) and k != "reason" else v) for k, v in data.items()}
        if not validate_record("eval_judge_verdict", lowered):
            return JudgeVerdict("ok", lowered["process_correctness"], lowered["response_correctness"], str(lowered["reason"])[:600])
    found = {kind.casefold(): value.casefold() for kind, value in _TEXT.findall(text)}
    if {"process", "response"} <= set(found):
        return JudgeVerdict("ok", found["process"], found["response"], text[:600])
    return JudgeVerdict("unparsable", None, None, text[:300])


def render_golden(calls: list[dict[str, Any]]) -> str:
    return "\n".join(f"{n}. {c['action']}({json.dumps(c.get('action_input'), ensure_ascii=False)})"
                     for n, c in enumerate(calls, 1)) or "(none: the request needs no function)"


async def judge_solution(llm: Completer, *, documentation: str, instruction: str, golden: list[dict[str, Any]],
                         steps: Sequence[Step], final_answer: str | None, subject_id: str, seed: int = 0,
                         max_tokens: int = 300) -> JudgeVerdict:
    """Ask the ``judge`` role (greedy, JSON-constrained) about one solution."""
    if golden and not any(s.action and s.action != ASK_USER for s in steps):
        return JudgeVerdict("no_call", "no", "no", "no function was called")
    prompt = load_prompt("eval_judge")
    messages = prompt.render(documentation=documentation[:MAX_DOC_CHARS], instruction=instruction, golden=render_golden(golden),
                             solution=render_trajectory(steps), final_answer=final_answer or "(none)")
    result = await llm.acomplete("judge", messages, prompt_version=prompt.version, subject_id=subject_id,
                                 json_schema=load_schema("eval_judge_verdict"), schema_name="eval_judge_verdict",
                                 max_tokens=max_tokens, temperature=0.0, seed=seed)
    return read_judgement(result)
