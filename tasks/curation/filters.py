"""The quality funnel's deterministic filters: format, execution, dedup and length.

Each filter takes a dialogue record (``schemas.records.Dialogue``) and returns a ``Verdict``: kept, or refused with a reason code and a detail. They never raise on odd
input. The semantic filter needs an LLM and lives in ``tasks/curation/semantic_judge.py``; the order of the stages
(cheapest first) is ``STAGES``.

Reason codes
  format:    no_final_answer, unparsable_step, unknown_action, arguments_not_json, no_tool_call, too_many_calls
  execution: call_invalid, response_nonconforming, executor_failed, unrecovered_error, chain_not_followed
  semantic:  judge_unfulfilled, judge_invented_arguments, judge_unparsable, judge_error, llm_error
  dedup:     exact_duplicate, near_duplicate
  length:    over_token_budget
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from schemas.dialogue_records import user_turns
from schemas.reasons import CurationCode
from schemas.records import Dialogue, Step
from tasks.similarity import jaccard, word_ngrams, words
from tasks.simulation.call_check import CHECK_CODES
from tasks.simulation.react import ASK_USER

STAGES = ("format", "execution", "semantic", "dedup", "length")
PARSE_ERRORS = {"empty": "unparsable_step", "no_action": "unparsable_step", "missing_input": "unparsable_step",
                "unknown_action": "unknown_action", "input_not_json": "arguments_not_json",
                "input_not_object": "arguments_not_json"}
EXECUTOR_PROBLEMS = {"response_unparsable": "response_nonconforming", "response_nonconforming": "response_nonconforming",
                     "llm_error": "executor_failed"}


@dataclass(frozen=True)
class Verdict:
    """One stage's decision on one dialogue: ``reason`` is None when kept, else a ``CurationCode``
    (a text that is not one is a bug: ``ValueError``)."""

    stage: Literal["format", "execution", "semantic", "dedup", "length"]
    reason: CurationCode | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"unknown funnel stage {self.stage!r}")
        if self.reason is not None:
            object.__setattr__(self, "reason", CurationCode(self.reason))

    @property
    def kept(self) -> bool:
        return self.reason is None


def call_steps(steps: Sequence[Step]) -> list[Step]:
    """The steps that called a function (parsed turns whose action is neither ask_user nor an answer):
    what the funnel counts, the evaluation scores and the held-out set takes as golden calls."""
    return [s for s in steps if s.action and s.action != ASK_USER and s.error not in PARSE_ERRORS]


def format_check(dialogue: Dialogue, function_names: set[str] | None = None, max_calls: int = 5) -> Verdict:
    """Parsable steps, known actions, JSON-object arguments, a final answer, a real call and at most
    ``max_calls`` of them in each user turn (a follow-up may be answered from earlier results, with none).

    An ``unanswerable`` instruction is exempt from the one-call minimum (declining is its right answer)."""
    v = lambda reason, detail="": Verdict("format", reason, detail)  # noqa: E731
    if dialogue.stop_reason != "final_answer" or not (dialogue.final_answer or "").strip():
        return v("no_final_answer", f"stopped by {dialogue.stop_reason}")
    calls = call_steps(dialogue.steps)
    for step in [s for s in dialogue.steps if s.error in PARSE_ERRORS] + calls:  # unparsable steps first
        problem = step_format_problem(step, function_names)
        if problem is not None:
            return problem
    if not calls and dialogue.instruction_kind != "unanswerable":
        return v("no_tool_call")
    per_turn = Counter(s.turn for s in calls)
    turn, most = max(per_turn.items(), key=lambda kv: kv[1], default=(0, 0))
    if most > max_calls:
        return v("too_many_calls", f"{most} calls > {max_calls}" + (f" in user turn {turn}" if dialogue.follow_ups else ""))
    return v(None)


def execution_check(dialogue: Dialogue, chain: Sequence[str] = ()) -> Verdict:
    """Every call passed the spec check and got a conforming response; an error status is followed
    by a successful call before the answer to its user turn; a ``chain`` instruction's operations (``chain``, in order)
    were each called successfully, in that order (other calls may come between)."""
    v = lambda reason, detail="": Verdict("execution", reason, detail)  # noqa: E731
    calls = call_steps(dialogue.steps)
    problem = next(filter(None, map(call_execution_problem, calls)), None)
    if problem is not None:
        return problem
    for turn in sorted({s.turn for s in calls}):
        s = unrecovered([s for s in calls if s.turn == turn])
        if s is not None:
            return v("unrecovered_error", f"step {s.index} {s.action} → {s.status}, nothing succeeded after it before the answer")
    if chain and not _in_order(chain, [s.action for s in calls if (s.status or 200) < 400]):
        called = ", ".join(str(s.action) for s in calls) or "nothing"
        return v("chain_not_followed", f"needed {' → '.join(chain)}; called {called}"[:500])
    return v(None)


def where(step: Step) -> str:
    """Where a verdict's detail points: ``step N``, or ``step N call K`` for a turn's later parallel calls."""
    return f"step {step.index}" + (f" call {step.call}" if step.call else "")


def step_format_problem(step: Step, function_names: set[str] | None = None) -> Verdict | None:
    """The format refusal one step earns — unparsable (``PARSE_ERRORS``), a function not in ``function_names``
    (None: any), arguments that are not a JSON object — or None. Shared by the dialogue's and the turn's checks."""
    code = PARSE_ERRORS.get(step.error or "")
    if code:
        return Verdict("format", code, f"{where(step)}: {step.error}")
    if not step.action or step.action == ASK_USER:
        return None
    if function_names is not None and step.action not in function_names:
        return Verdict("format", "unknown_action", f"{where(step)}: {step.action}")
    if not isinstance(step.action_input, dict):
        return Verdict("format", "arguments_not_json", f"{where(step)}: arguments are not a JSON object")
    return None


def call_execution_problem(step: Step) -> Verdict | None:
    """The execution refusal one call earns — it failed the spec check, or its response did not conform or
    never came — or None. Shared by the dialogue's and the turn's checks."""
    err = step.error or ""
    if err in CHECK_CODES:
        return Verdict("execution", "call_invalid", f"{where(step)} {step.action}: {err}")
    if err in EXECUTOR_PROBLEMS:
        return Verdict("execution", EXECUTOR_PROBLEMS[err], f"{where(step)} {step.action}: {err}")
    return None


def unrecovered(calls: Sequence[Step]) -> Step | None:
    """The last call of one user turn's ``calls`` that failed (an error status) and that no later call made
    good — one in a later assistant turn: a parallel sibling, made at once, does not; None when there is none."""
    failed = [s for s in calls if (s.status or 200) >= 400]
    if failed and not any((s.status or 200) < 400 and s.index > failed[-1].index for s in calls):
        return failed[-1]
    return None


def _in_order(needed: Sequence[str], called: Sequence[str | None]) -> bool:
    """Whether ``needed`` is a subsequence of ``called``."""
    it = iter(called)
    return all(any(c == n for c in it) for n in needed)


def normalise(text: str) -> str:
    """Case, punctuation and spacing folded: the key of exact duplicates."""
    return " ".join(words(text))


def dedup(items: Sequence[tuple[str, str]], threshold: float = 0.6, template_share: float = 0.5,
          min_for_template: int = 5) -> dict[str, Verdict]:
    """Exact and near duplicates among one API's instructions: ``items`` = (id, text) in landing order;
    the first of a group is kept; near means a word-bigram Jaccard of at least ``threshold``
    (bigrams, because instructions are a sentence or two). Bigrams that occur in at least ``template_share`` of the
    instructions and in at least ``min_for_template`` of them are template text and do not count,
    so requests built on one template are compared by what they ask, not by what they share."""
    shingles = {i: word_ngrams(t, 2) for i, t in items}
    df = Counter(s for sh in shingles.values() for s in sh)
    common = {s for s, c in df.items() if c >= min_for_template and c / len(items) >= template_share}
    kept: list[tuple[str, set[tuple[str, ...]]]] = []
    seen: dict[str, str] = {}
    out: dict[str, Verdict] = {}
    for item_id, text in items:
        key = normalise(text)
        if key in seen:
            out[item_id] = Verdict("dedup", "exact_duplicate", f"same as {seen[key]}")
            continue
        own = shingles[item_id] - common or shingles[item_id]
        match = next(((kid, sim) for kid, ksh in kept if (sim := jaccard(own, ksh)) >= threshold), None)
        if match is not None:
            out[item_id] = Verdict("dedup", "near_duplicate", f"{match[1]:.2f} like {match[0]}")
            continue
        seen[key] = item_id
        kept.append((item_id, own))
        out[item_id] = Verdict("dedup")
    return out


def instance_text(dialogue: Dialogue, documentation: str) -> str:
    """The text a model trains on for this instance: the documentation, and each user turn with every
    assistant turn that served it."""
    parts = [documentation]
    for request, steps, _ in user_turns(dialogue):
        parts.append(f"USER: {request}")
        for step in steps:
            parts.append(f"ASSISTANT: {step.text}")
            if step.observation:
                parts.append(f"Observation: {step.observation}")
    return "\n".join(parts)


def length_check(n_tokens: int, budget: int) -> Verdict:
    return Verdict("length", None if n_tokens <= budget else "over_token_budget",
                   f"{n_tokens} tokens" + ("" if n_tokens <= budget else f" > {budget}"))




