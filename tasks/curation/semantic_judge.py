"""The funnel's semantic stage: a judge LLM reads one dialogue and says whether the final answer
fulfils the request and whether the call arguments come from the request, the user's answers or
earlier observations.

In: an async completer (``LLMClient``), the dialogue record and the API's function summary.
Out: a ``Verdict`` of stage ``semantic``, never an exception: an unusable reply is
``judge_unparsable``. A call that failed after its retries is ``LLM_ERROR``: not a verdict — the
flow writes none, and the next run judges the dialogue again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from schemas import load_schema, validate_record
from schemas.records import Dialogue, FollowUp, Step
from tasks.curation.filters import Verdict
from tasks.llm.types import Completer, LLMResult
from tasks.prompts import load_prompt

LLM_ERROR = "llm_error"

MAX_OBSERVATION_CHARS = 600
MAX_FUNCTIONS_CHARS = 3000
LATER_MESSAGES = " (then, after each answer, the user's messages marked User: below; the final answer serves the last of them)"


def prompt_version() -> str:
    return load_prompt("judge_semantic").version


def render_trajectory(steps: Sequence[Step], follow_ups: Sequence[FollowUp] = ()) -> str:
    """Each call as Thought / Action / Action Input / Observation lines, observations shortened; where the
    user went on after an answer (``follow_ups``), that answer and the user's next message."""
    lines = []
    said = {f.turn: f.text for f in follow_ups}
    for step in steps:
        if step.action:
            if step.thought:
                lines.append(f"Thought: {step.thought}")
            lines.append(f"Action: {step.action}")
            lines.append(f"Action Input: {json.dumps(step.action_input, ensure_ascii=False)}")
            obs = step.observation or ""
            lines.append(f"Observation: {obs[:MAX_OBSERVATION_CHARS]}{'…' if len(obs) > MAX_OBSERVATION_CHARS else ''}")
        elif step.answer is not None and step.turn + 1 in said:
            lines += [f"Answer: {step.answer}", f"User: {said[step.turn + 1]}"]
    return "\n".join(lines) or "(no function was called)"


def read_verdict(result: LLMResult) -> Verdict:
    """The judge's reply as a verdict (``parsed`` when the backend honoured the schema, else the text)."""
    if not result.ok:  # after retries: the flow leaves the dialogue undecided for the next run
        return Verdict("semantic", LLM_ERROR, (result.error or "")[:300])
    data = result.parsed
    if data is None:
        try:
            data = json.loads(result.text.strip().removeprefix("```json").removesuffix("```"))
        except (ValueError, AttributeError):
            return Verdict("semantic", "judge_unparsable", (result.text or "")[:200])
    errors = validate_record("llm_judge_verdict", data)
    if errors:
        return Verdict("semantic", "judge_unparsable", "; ".join(errors[:3]))
    reason = str(data["reason"])[:300]
    if not data["fulfils_request"]:
        return Verdict("semantic", "judge_unfulfilled", reason)
    if not data["arguments_grounded"]:
        return Verdict("semantic", "judge_invented_arguments", reason)
    return Verdict("semantic", None, reason)


async def judge_dialogue(llm: Completer, dialogue: Dialogue, functions: str, *, seed: int = 0,
                         max_tokens: int = 200) -> Verdict:
    """Ask the ``judge`` role about one dialogue (greedy, JSON constrained by the verdict schema)."""
    prompt = load_prompt("judge_semantic")
    request = dialogue.instruction + (LATER_MESSAGES if dialogue.follow_ups else "")
    messages = prompt.render(functions=functions[:MAX_FUNCTIONS_CHARS], instruction=request,
                             trajectory=render_trajectory(dialogue.steps, dialogue.follow_ups), final_answer=dialogue.final_answer or "")
    result = await llm.acomplete("judge", messages, prompt_version=prompt.version, subject_id=dialogue.dialogue_id,
                                 json_schema=load_schema("llm_judge_verdict"), schema_name="judge_verdict",
                                 max_tokens=max_tokens, temperature=0.0, seed=seed)
    return read_verdict(result)
