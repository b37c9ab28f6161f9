"""The user agent's follow-up turns (issue 21, part 1): after an answer, the user may go on.

``plan_follow_ups`` decides, from a hash of the instruction, whether a dialogue continues and with which
kinds of turn: ``follow_up`` (builds on what the answer said), ``correction`` (changes a detail of the
last request) or ``new_goal`` (something new and related). ``write_follow_up`` asks the ``user`` role for
the message, given the conversation so far; its reply is tidied and refused (a reason, never an
exception) when empty or a repeat of an earlier request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import get_args

from schemas.dialogue_records import FollowUpKind
from schemas.ids import hash_draw
from tasks.llm.types import Completer, LLMResult
from tasks.prompts import load_prompt
from tasks.similarity import words

FOLLOW_UP_KINDS: tuple[str, ...] = get_args(FollowUpKind)
RULES = {
    "follow_up": "Ask for something more that builds on what the assistant just told you: use a name, id or value from its answer.",
    "correction": "Correct one detail of your last request (another value, place, date or amount) and ask for it again.",
    "new_goal": "Ask for something new, related to what you asked before, that the same functions can do.",
}
MAX_FUNCTIONS_CHARS = 1200
MAX_MESSAGE_CHARS = 400


def plan_follow_ups(key: str, share: float, max_user_turns: int, seed: int = 0) -> tuple[str, ...]:
    """The kinds of the follow-up turns a dialogue gets (empty: a single request). In: the dialogue's key
    (its instruction ID), the share of dialogues that continue, the most user turns a dialogue may have
    (the instruction counts as one). A dialogue that continues gets 1 … ``max_user_turns - 1`` follow-ups,
    each kind drawn from the hash."""
    if max_user_turns < 2 or share <= 0 or hash_draw("follow-up", key, seed, "continues") >= share:
        return ()
    n = 1 + int(hash_draw("follow-up", key, seed, "turns") * (max_user_turns - 1))
    return tuple(FOLLOW_UP_KINDS[int(hash_draw("follow-up", key, seed, "kind", t) * len(FOLLOW_UP_KINDS))] for t in range(n))


@dataclass(frozen=True)
class Exchange:
    """One finished user turn: what the user asked and what the assistant answered."""

    request: str
    answer: str


def conversation_text(exchanges: Sequence[Exchange]) -> str:
    return "\n".join(f"You: {e.request}\nAssistant: {e.answer}" for e in exchanges)


def tidy_follow_up(text: str, earlier: Sequence[str]) -> tuple[str, str | None]:
    """(the message, None), or (text, reason) when it cannot be used: ``empty_follow_up`` (nothing left
    once labels and quotes are cut), ``repeated_request`` (the same words as an earlier request)."""
    message = " ".join((text or "").split())
    for label in ("Your next message:", "You:", "User:", "Me:"):
        message = message.removeprefix(label).strip()
    message = message.strip("\"'“”` ")
    if len(message) > MAX_MESSAGE_CHARS:
        cut = message[:MAX_MESSAGE_CHARS]
        end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
        message = cut[:end + 1] if end > 0 else cut.rsplit(" ", 1)[0]
    if not words(message):
        return message, "empty_follow_up"
    if any(words(message) == words(e) for e in earlier):
        return message, "repeated_request"
    return message, None


async def write_follow_up(llm: Completer, kind: str, exchanges: Sequence[Exchange], functions_doc: str, *,
                          subject_id: str = "", seed: int = 0, max_tokens: int = 100) -> tuple[str, str | None, LLMResult]:
    """(message, reason, the LLM result): the user's next message of ``kind`` after ``exchanges``; reason
    is None when it is usable, else ``llm_error`` or a ``tidy_follow_up`` reason."""
    prompt = load_prompt("user_follow_up")
    messages = prompt.render(rule=RULES[kind], functions=functions_doc.strip()[:MAX_FUNCTIONS_CHARS],
                             conversation=conversation_text(exchanges))
    r = await llm.acomplete("user", messages, prompt_version=prompt.version, subject_id=subject_id, max_tokens=max_tokens,
                            temperature=0.7, seed=seed)
    if not r.ok:
        return "", "llm_error", r
    message, reason = tidy_follow_up(r.text, [e.request for e in exchanges])
    return message, reason, r
