"""Dialogue records for tests: steps by position, a whole dialogue with the fields a test does not care about filled in."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from schemas.records import Dialogue, Step


def step(i: int, action: str | None = None, args: Any = None, status: int | None = None, valid: bool = True,
         error: str | None = None, obs: str | None = None, text: str = "", thought: str | None = None) -> Step:
    """Step ``i``: a call when ``action`` is given, else the final turn."""
    return Step(i, text or f"Thought: step {i}", f"step {i}" if thought is None else thought, action, args, obs, status, valid,
                error, 0.1)


def dialogue(instruction: str, steps: list[Step], final_answer: str | None, **fields: Any) -> Dialogue:
    """A finished single-API dialogue; ``fields`` override any other field of the record."""
    values: dict[str, Any] = {
        "dialogue_id": "a" * 16, "api_id": "b" * 16, "doc_id": "c" * 16, "instruction_id": "d" * 16,
        "instruction_kind": "normal", "stop_reason": "final_answer", "n_calls": sum(1 for s in steps if s.action),
        "n_errors": sum(1 for s in steps if not s.valid), "models": {"assistant": "m"}, "prompt_versions": {"assistant": "v"},
        "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": None,
    }
    return Dialogue(instruction=instruction, steps=steps, final_answer=final_answer, **{**values, **fields})


def variant(base: Dialogue, **changes: Any) -> Dialogue:
    """A deep copy of ``base`` with ``changes``."""
    return replace(copy.deepcopy(base), **changes)
