"""What the warehouse's reads hand the flows: records joined with the context a stage needs.

These are not landed (no JSON Schema); each is built from one read in ``warehouse/`` and passed, typed,
through the flows into ``tasks/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from schemas.records import Dialogue, Step


class Trajectory(Protocol):
    """What renders a solution: the request, the steps and the answer (a ``Dialogue`` is one)."""

    @property
    def instruction(self) -> str: ...

    @property
    def steps(self) -> list[Step]: ...

    @property
    def final_answer(self) -> str | None: ...


@dataclass(frozen=True)
class Solution:
    """A trajectory that is not a landed dialogue: a training file's instance, a saved prediction."""

    instruction: str
    steps: list[Step]
    final_answer: str | None


@dataclass
class DocumentedApi:
    """An API as simulation and evaluation use it: one doc's spec and NL documentation."""

    api_id: str
    doc_id: str
    name: str
    category: str
    spec: dict[str, Any] | None
    nl_documentation: str
    functions: dict[str, str] = field(default_factory=dict)  # name → NL doc, where the read asks for it


@dataclass
class PendingDialogue:
    """A dialogue the funnel has not decided yet, with its doc's NL documentation and function names."""

    dialogue: Dialogue
    nl_documentation: str
    function_names: list[str]
    created_at: datetime
    chain: list[str] = field(default_factory=list)  # a chain instruction's operations, in call order

    @property
    def position(self) -> tuple[datetime, str]:
        """Where it stands in landing order (the funnel pages and keeps that order)."""
        return self.created_at, self.dialogue.dialogue_id


@dataclass
class SnapshotInstance:
    """One instance of a corpus snapshot with its API's catalog name, category and description."""

    dialogue: Dialogue
    api_name: str | None
    category: str | None
    description: str | None


@dataclass
class EvalItem:
    """One instruction of an evaluation set with its golden calls and the doc it was written for."""

    golden_id: str
    instruction_id: str
    instruction: str
    api_id: str
    calls: list[dict[str, Any]]
    doc: DocumentedApi
