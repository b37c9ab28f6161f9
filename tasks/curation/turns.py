"""The funnel's turn-level checks (issue 21, part 4): a verdict for every assistant turn, and where a dialogue
goes bad, the shorter instance that is still good.

``check_turns`` gives each assistant turn (the steps sharing an index: a reply and its parallel calls) a
``TurnCheck``: kept, or refused with the stage and reason of its first failing check —
  format     the reply parsed; known functions; JSON-object arguments (``unparsable_step``, ``unknown_action``,
             ``arguments_not_json``);
  execution  each call passed the spec check and got a conforming response (``call_invalid``,
             ``response_nonconforming``, ``executor_failed``); every ID-like argument (``itemId: 71``) comes
             from the user (the request, a follow-up, an answer to ``ask_user``) or an earlier observation
             (``invented_argument``).
A user turn is good when its assistant turns all are, an error status is made good by a later call, and it
ends in an answer. ``cut_point`` says how many user turns from the start are good: a dialogue whose first
bad user turn is not the first is cut there (``cut_dialogue``) and kept as a shorter instance, which the
funnel then judges like any other dialogue; one whose first user turn is bad is refused with that turn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from schemas.dialogue_records import assistant_turns
from schemas.ids import content_id
from schemas.records import Dialogue, Step
from tasks.curation.filters import Verdict, call_execution_problem, step_format_problem, unrecovered, where
from tasks.simulation.call_check import identifier_argument
from tasks.simulation.react import ASK_USER


@dataclass(frozen=True)
class TurnCheck:
    """One assistant turn's verdict: its step index, the user turn it served, and ``verdict`` (stage
    ``format`` or ``execution``; kept, or refused with a reason)."""

    index: int
    turn: int
    verdict: Verdict


def check_turns(dialogue: Dialogue, function_names: set[str] | None = None) -> list[TurnCheck]:
    """A ``TurnCheck`` per assistant turn of ``dialogue`` (``function_names``: the functions it may call;
    None: any)."""
    heard = [dialogue.instruction]  # what the user said and the API returned, as the dialogue goes
    out = []
    for group in assistant_turns(dialogue.steps):
        turn = group[0].turn
        heard += [f.text for f in dialogue.follow_ups if f.turn == turn]
        out.append(TurnCheck(group[0].index, turn, _turn_verdict(group, function_names, " ".join(heard))))
        heard += [s.observation or "" for s in group]
    return out


def _turn_verdict(group: list[Step], function_names: set[str] | None, heard: str) -> Verdict:
    """The turn's first format problem over all its steps, else its first execution problem, else kept."""
    for check in (lambda s: step_format_problem(s, function_names), lambda s: _execution_problem(s, heard)):
        problem = next(filter(None, map(check, group)), None)
        if problem is not None:
            return problem
    return Verdict("execution")


def _execution_problem(step: Step, heard: str) -> Verdict | None:
    """The call's execution problem, or an ID-like argument that ``heard`` does not contain."""
    problem = call_execution_problem(step)
    invented = _invented(step, heard) if problem is None else None
    if invented:
        return Verdict("execution", "invented_argument", f"{where(step)} {step.action}: {invented} comes from neither the user "
                                                         "nor an earlier result")
    return problem


def _invented(step: Step, heard: str) -> str | None:
    """``name=value`` of the first ID-like argument of a call that ``heard`` does not contain."""
    if not step.action or step.action == ASK_USER or not isinstance(step.action_input, dict):
        return None
    for name, value in step.action_input.items():
        if identifier_argument(str(name), value) and str(value).strip() not in heard:
            return f"{name}={json.dumps(value)}"
    return None


def _user_turn_problem(dialogue: Dialogue, turn: int, checks: list[TurnCheck]) -> Verdict | None:
    """Why user turn ``turn`` is not good (None: it is)."""
    bad = next((c.verdict for c in checks if c.turn == turn and not c.verdict.kept), None)
    if bad is not None:
        return bad
    steps = [s for s in dialogue.steps if s.turn == turn]
    if not any(not s.action and s.answer is not None for s in steps) and not (
            turn == len(dialogue.follow_ups) and dialogue.stop_reason == "final_answer"):
        return Verdict("format", "no_final_answer", f"user turn {turn} ended without an answer ({dialogue.stop_reason})")
    failed = unrecovered([s for s in steps if s.action and s.action != ASK_USER])
    if failed is not None:
        return Verdict("execution", "unrecovered_error",
                       f"step {failed.index} {failed.action} → {failed.status}, nothing succeeded after it")
    return None


def cut_point(dialogue: Dialogue, checks: list[TurnCheck]) -> tuple[int, Verdict | None]:
    """(how many user turns from the start are good, why the next one is not — None when all are)."""
    for turn in range(len(dialogue.follow_ups) + 1):
        problem = _user_turn_problem(dialogue, turn, checks)
        if problem is not None:
            return turn, Verdict(problem.stage, problem.reason, f"user turn {turn}: {problem.detail}")
    return len(dialogue.follow_ups) + 1, None


def cut_dialogue(dialogue: Dialogue, keep: int) -> Dialogue:
    """``dialogue``'s first ``keep`` user turns as an instance of their own: ``cut_from`` names the original,
    the ID is a hash of it and ``keep``; tokens and cost stay with the original (they were spent once)."""
    steps = [s for s in dialogue.steps if s.turn < keep]
    answer = next((s.answer for s in reversed(steps) if not s.action and s.answer is not None), None)
    return replace(dialogue, dialogue_id=content_id("dialogue-cut", dialogue.dialogue_id, keep), steps=steps,
                   follow_ups=[f for f in dialogue.follow_ups if f.turn < keep], final_answer=answer, stop_reason="final_answer",
                   n_calls=sum(1 for s in steps if s.action and s.action != ASK_USER), n_errors=sum(1 for s in steps if not s.valid),
                   prompt_tokens=0, completion_tokens=0, cost_usd=0.0, cut_from=dialogue.dialogue_id)

