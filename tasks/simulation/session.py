"""One dialogue as it runs (``tasks.simulation.assistant``): the assistant's turns for one user turn at a time.

Each turn is read by the step mode; an unusable turn gets an observation that says what is wrong and the
dialogue goes on. A call goes to the executor (spec check, then simulation); ``ask_user`` goes to the user
agent. The parallel calls of one turn are each answered against the state as it was before the turn (so
none sees another's effect) and then all join the state, in the order written. A user turn ends at a final
answer, at the step limit, or after ``max_errors`` erroneous turns in a row (the assistant is then told to
answer, and gives up if it does not).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from schemas.records import Step
from tasks.llm.types import Completer, LLMResult
from tasks.simulation.executor import Executor, ExecutorState
from tasks.simulation.react import ASK_USER, ReactStep
from tasks.simulation.step_modes import StepMode, Turn
from tasks.simulation.user_agent import answer_question, question_of

MUST_ANSWER = "You have made several errors in a row. Give your Final Answer now."


@dataclass(frozen=True)
class SessionLimits:
    """The assistant's sampling and the limits of each user turn."""

    step_limit: int = 8
    max_errors: int = 3
    max_tokens: int = 400
    temperature: float = 0.2
    seed: int = 0


class Tally:
    """What a dialogue has spent and how its steps went, as it runs."""

    def __init__(self) -> None:
        self.tokens = [0, 0]
        self.cost: float | None = 0.0
        self.n_calls = self.n_errors = self.in_a_row = 0

    def account(self, prompt_tokens: int, completion_tokens: int, call_cost: float | None) -> None:
        self.tokens[0] += prompt_tokens
        self.tokens[1] += completion_tokens
        self.cost = None if self.cost is None or call_cost is None else self.cost + call_cost

    def turn(self, valid: list[bool]) -> None:
        """Count one assistant turn's calls (``valid``, one flag per call): an error for each bad one, and a
        turn in a row with errors when any was bad."""
        self.n_errors += valid.count(False)
        self.in_a_row = 0 if all(valid) else self.in_a_row + 1


@dataclass(frozen=True)
class Outcome:
    """What answered one call: the observation, the HTTP-style status (None for ask_user and bad turns),
    whether the call was good, and the reason when not."""

    observation: str
    status: int | None
    valid: bool
    error: str | None


class Session:
    """One dialogue as it runs: the messages so far, the executor's state, the steps and the spend."""

    def __init__(self, task: Any, llm: Completer, executor: Executor, mode: StepMode, limits: SessionLimits,
                 messages: list[dict[str, Any]], prompt_version: str) -> None:
        self.task, self.llm, self.executor, self.mode, self.limits = task, llm, executor, mode, limits
        self.messages, self.prompt_version = messages, prompt_version
        self.state, self.tally, self.steps = ExecutorState(scope=task.instruction_id), Tally(), []
        self.index, self.last_text = 0, ""
        self.final_answer: str | None = None
        self.stop_reason = "step_limit"

    async def serve(self, turn: int, request: str) -> str | None:
        """Run the assistant on user turn ``turn`` (``request``) until it answers (the answer), or until the
        step limit, an LLM error or giving up (None, ``stop_reason`` says which)."""
        limits, told_to_answer, calls_ok = self.limits, False, 0
        self.tally.in_a_row, self.stop_reason = 0, "step_limit"
        for k in range(limits.step_limit):
            index, self.index = self.index, self.index + 1
            r = await self.llm.acomplete("assistant", self.messages, prompt_version=self.prompt_version,
                                         subject_id=self.task.api_id, max_tokens=limits.max_tokens, temperature=limits.temperature,
                                         seed=limits.seed + index,
                                         **self.mode.request(Turn(k, calls_ok, told_to_answer or k == limits.step_limit - 1)))
            self.tally.account(r.prompt_tokens, r.completion_tokens, r.cost_usd)
            if not r.ok:
                self.steps.append(Step(index, "", "", None, None, None, None, False, "llm_error", r.latency_s, turn=turn))
                self.stop_reason = "llm_error"
                return None
            text, parsed = self.mode.read(r)
            if parsed.kind == "final":
                self.steps.append(Step(index, text, parsed.thought, None, None, None, None, True, None, r.latency_s, turn=turn,
                                       answer=parsed.final_answer))
                self.final_answer, self.stop_reason, self.last_text = parsed.final_answer, "final_answer", r.text.strip()
                return parsed.final_answer
            outcomes = await self._act_all(parsed.calls, request, turn, limits.seed + index)
            self._record(index, turn, text, r, parsed.calls, outcomes)
            calls_ok += sum(o.valid for c, o in zip(parsed.calls, outcomes, strict=True) if c.kind == "action" and c.action != ASK_USER)
            if told_to_answer:
                self.stop_reason = "gave_up"
                return None
            observations = [o.observation for o in outcomes]
            if self.tally.in_a_row >= limits.max_errors:
                observations[-1], told_to_answer = f"{observations[-1]}\n{MUST_ANSWER}", True
            self.messages = self.messages + self.mode.follow(r, observations)
        return None

    def _record(self, index: int, turn: int, text: str, r: LLMResult, calls: list[ReactStep], outcomes: list[Outcome]) -> None:
        """One step per call of the turn, sharing its index (the turn's text, thought and latency on the first)."""
        self.tally.turn([o.valid for o in outcomes])
        for k, (c, o) in enumerate(zip(calls, outcomes, strict=True)):
            self.steps.append(Step(index, text if k == 0 else "", c.thought if k == 0 else "", c.action or None, c.action_input,
                                   o.observation, o.status, o.valid, None if o.valid else o.error, r.latency_s if k == 0 else 0.0,
                                   turn=turn, call=k))

    async def _act_all(self, calls: list[ReactStep], request: str, turn: int, seed: int) -> list[Outcome]:
        """The outcome of each call of a turn; parallel calls each see the state from before the turn."""
        if len(calls) == 1:
            return [await self._act(calls[0], request, turn, seed, self.state)]
        before = list(self.state.calls)
        views = [ExecutorState(list(before), self.state.scope) for _ in calls]
        outcomes = await asyncio.gather(*(self._act(c, request, turn, seed, v) for c, v in zip(calls, views, strict=True)))
        for view in views:
            self.state.calls += view.calls[len(before):]
        return list(outcomes)

    async def _act(self, parsed: ReactStep, request: str, turn: int, seed: int, state: ExecutorState) -> Outcome:
        """What answers one call: feedback on an invalid one, the user's answer to ``ask_user`` (about
        ``request``, the user turn being served; the hidden details belong to the first), or the executor's
        answer."""
        if parsed.kind == "invalid":
            return Outcome(parsed.feedback(), None, False, parsed.error)
        if parsed.action == ASK_USER:
            answer, error, ur = await answer_question(self.llm, request, question_of(parsed.action_input),
                                                      self.task.details if turn == 0 else "", self.task.api_id, seed=seed)
            self.tally.account(ur.prompt_tokens, ur.completion_tokens, ur.cost_usd)
            return Outcome(f"User: {answer}", None, error is None, error)
        self.tally.n_calls += 1
        exe = await self.executor.execute(parsed.action, parsed.action_input, state)
        self.tally.account(exe.prompt_tokens, exe.completion_tokens, exe.cost_usd)
        valid = exe.status < 400
        return Outcome(exe.observation, exe.status, valid, None if valid else str(exe.problem.code if exe.problem else exe.check.problems[0].code))
