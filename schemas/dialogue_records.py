"""The records of schema ``dialogue``: a dialogue, its steps and its follow-up user turns (re-exported by
``schemas.records``, where every record type is found)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from schemas.keywords import Keywords
from schemas.record_base import ID, Count, InstructionKind, Record

FollowUpKind = Literal["follow_up", "correction", "new_goal"]


@dataclass
class Step(Record):
    """One assistant turn of a dialogue and what answered it. A turn that calls several functions at once
    (parallel calls) is one step per call, sharing the turn's ``index``; ``call`` orders them."""

    index: Count
    text: Annotated[str, Keywords(description="the assistant's raw turn")]
    thought: str
    action: Annotated[
        str | None, Keywords(description="a function name, ask_user, or null for a final answer / an unusable turn")
    ]
    action_input: Annotated[Any, Keywords(description="the parsed Action Input (any JSON) or null")]
    observation: str | None
    status: Annotated[int | None, Keywords(description="HTTP-style status of a call; null for ask_user and final answers")]
    valid: Annotated[
        bool, Keywords(description="the turn parsed and, for a call, passed the spec check and got a conforming response")
    ]
    error: Annotated[str | None, Keywords(description="reason code when not valid")]
    latency_s: Annotated[float, Keywords(minimum=0)]
    turn: Annotated[Count, Keywords(description="the user turn the step serves: 0 the instruction, 1… its follow-ups")] = 0
    call: Annotated[Count, Keywords(description="the call's place among the parallel calls of its turn (steps of one turn share index)")] = 0
    answer: Annotated[str | None, Keywords(description="a final answer step: the answer to its user turn")] = None

    @classmethod
    def bare_call(cls, index: int, action: str, action_input: Any, observation: str = "") -> Step:
        """A function call known only by its name, arguments and answer (a saved prediction's)."""
        return cls(index, "", "", action, action_input, observation, None, True, None, 0.0)

    def as_call(self) -> dict[str, Any]:
        """``{"action", "action_input"}``: the call as golden answers and predictions list it."""
        return {"action": self.action, "action_input": self.action_input}


@dataclass
class FollowUp(Record):
    """A user turn after the assistant's answer: a follow-up that uses earlier results, a correction, or a
    related new goal."""

    turn: Annotated[int, Keywords(minimum=1, description="its place among the user turns (0 is the instruction)")]
    kind: FollowUpKind
    text: Annotated[str, Keywords(minLength=1)]


@dataclass
class Dialogue(Record):
    """One simulated instance: an instruction, every assistant step with its observation and validation result,
    the final answer and why the dialogue stopped. dialogue_id is a content hash of the instruction, the API
    doc, models and prompt versions."""

    SCHEMA: ClassVar[str] = "dialogue"
    NESTED: ClassVar[dict[str, type[Record]]] = {"steps": Step, "follow_ups": FollowUp}
    dialogue_id: ID
    api_id: ID
    doc_id: ID
    instruction_id: ID
    instruction: Annotated[str, Keywords(minLength=1)]
    instruction_kind: InstructionKind
    steps: list[Step]
    final_answer: Annotated[str | None, Keywords(description="the answer to the last user turn")]
    stop_reason: Literal["final_answer", "step_limit", "gave_up", "llm_error"]
    n_calls: Count
    n_errors: Count
    models: dict[str, str]
    prompt_versions: dict[str, str]
    prompt_tokens: Count
    completion_tokens: Count
    cost_usd: Annotated[float | None, Keywords(minimum=0)]
    partner_api_ids: Annotated[
        list[ID], Keywords(description="multi_api: the other APIs whose functions the dialogue could call")
    ] = field(default_factory=list)  # the other APIs of a multi-API dialogue
    origin: Annotated[
        Literal["simulation", "import"], Keywords(description="simulated here, or imported from a published corpus")
    ] = "simulation"  # "simulation" | "import"
    toolset: Annotated[
        list[str],
        Keywords(description="a large API: the functions the assistant was shown (tasks.simulation.toolset_slice); empty: the whole API"),
    ] = field(default_factory=list)  # the functions the assistant was shown; [] = the whole API
    follow_ups: Annotated[
        list[FollowUp], Keywords(description="the user's turns after the first answer, in order; empty: a single request")
    ] = field(default_factory=list)
    cut_from: Annotated[
        str | None,
        Keywords(required=False, pattern="^[0-9a-f]{16}$",
                 description="the dialogue this one was cut from at its last good user turn (tasks.curation.turns)"),
    ] = None
    context_id: Annotated[
        str | None,
        Keywords(required=False, pattern="^[0-9a-f]{16}$",
                 description="the tool context the assistant was shown (table tool_context): what exports, the length "
                             "filter and the judge read"),
    ] = None

    def user_turns(self) -> list[tuple[str, list[Step], str]]:
        """Each user turn as (the user's message, the steps that served it, the answer it got)."""
        return user_turns(self)


def assistant_turns(steps: list[Step]) -> list[list[Step]]:
    """The steps grouped by assistant turn (one group per index, in order; several steps in a group are that
    turn's parallel calls)."""
    groups: list[list[Step]] = []
    for s in steps:
        if groups and groups[-1][0].index == s.index:
            groups[-1].append(s)
        else:
            groups.append([s])
    return groups


def user_turns(dialogue: Any) -> list[tuple[str, list[Step], str]]:
    """(message, steps, answer) per user turn of any trajectory (a ``Dialogue``, a ``Solution``): the
    instruction and then its follow-ups; a turn's answer is its final-answer step's (the dialogue's
    ``final_answer`` for the last turn, and for steps landed before answers were kept per step)."""
    follow_ups = list(getattr(dialogue, "follow_ups", None) or [])
    messages = [dialogue.instruction, *(f.text for f in follow_ups)]
    out = []
    for turn, message in enumerate(messages):
        steps = [s for s in dialogue.steps if getattr(s, "turn", 0) == turn]
        last = turn == len(messages) - 1
        answer = next((s.answer for s in reversed(steps) if not s.action and s.answer), None)
        out.append((message, steps, (dialogue.final_answer if last else answer) or answer or ""))
    return out
