"""The user agent (issue #3). For now: answering the assistant's ``ask_user`` questions in character.

In: the instruction, optional hidden details (what a missing-detail instruction left out), the
question. Out: the answer text, or a fallback sentence when the LLM fails (recorded as an error).
"""

from __future__ import annotations

from typing import Any

from tasks.llm.types import Completer, LLMResult
from tasks.prompts import load_prompt

FALLBACK_ANSWER = "I don't know more than what I told you; please do your best with that."


async def answer_question(llm: Completer, instruction: str, question: str, details: str = "", subject_id: str = "",
                    seed: int = 0, max_tokens: int = 120) -> tuple[str, str | None, LLMResult]:
    """(answer, error, the LLM result): the user's in-character reply to ``question``; error is a
    reason when the LLM failed (the answer is then a fallback sentence)."""
    prompt = load_prompt("user_answer")
    messages = prompt.render(instruction=instruction, details=f"What you know but did not say: {details}\n" if details else "",
                             question=question.strip() or "(no question)")
    r = await llm.acomplete("user", messages, prompt_version=prompt.version, subject_id=subject_id, max_tokens=max_tokens,
                            temperature=0.7, seed=seed)
    if not r.ok:
        return FALLBACK_ANSWER, "llm_error", r
    text = " ".join(r.text.split())
    if not text:
        return FALLBACK_ANSWER, "empty_answer", r
    return text, None, r


def question_of(action_input: Any) -> str:
    """The question in an ask_user Action Input ({"question": …}, or the first string value)."""
    if isinstance(action_input, dict):
        if isinstance(action_input.get("question"), str):
            return action_input["question"]
        for v in action_input.values():
            if isinstance(v, str):
                return v
    return ""
