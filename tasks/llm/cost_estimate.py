"""What a run will ask of the LLMs before it starts: calls, tokens and cost per role.

``plan_calls`` counts calls from what is left to do (APIs to document, dialogues to simulate,
dialogues to judge) and the settings that shape each stage; ``estimate`` prices them with tokens
per call (this warehouse's own averages when it has history, else defaults) and each role's price
per token (None when the price map does not know the model: the cost is then "unknown", never 0).
An estimate, not a promise: repair rounds and dialogue lengths vary with the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# tokens per call (prompt, completion) when the warehouse has no history for a role
DEFAULT_TOKENS = {"documenter": (700, 300), "user": (500, 120), "assistant": (900, 80), "executor": (700, 150), "judge": (800, 60)}


@dataclass
class Plan:
    """Work left: APIs to document, APIs and dialogues to simulate, dialogues to judge."""

    apis_to_document: int
    apis_to_simulate: int
    dialogues: int
    dialogues_to_judge: int
    spec_mode: str = "operations"  # operations: one call per function; openapi: one call for the spec
    functions_per_api: float = 5.0
    repair_rounds: int = 3
    steps_per_dialogue: float = 3.0  # every user turn's, follow-ups included
    missing_detail_share: float = 0.1
    follow_up_turns: float = 0.0  # per dialogue, on average: each is a user call


def plan_calls(p: Plan) -> dict[str, float]:
    """Expected calls per role."""
    per_doc = 1 + (p.functions_per_api if p.spec_mode == "operations" else 1) + p.repair_rounds / 2  # outline, spec, some repairs
    assistant = p.dialogues * p.steps_per_dialogue
    return {"documenter": p.apis_to_document * per_doc,
            "user": p.apis_to_simulate + p.dialogues * (p.missing_detail_share + p.follow_up_turns),
            "assistant": assistant, "executor": max(0.0, assistant - p.dialogues),
            "judge": float(p.dialogues_to_judge)}


def estimate(calls: dict[str, float], tokens: dict[str, tuple[float, float]],
             prices: dict[str, tuple[float, float] | None]) -> dict[str, Any]:
    """Per role: calls, prompt and completion tokens, cost (None when the price is unknown); and totals."""
    rows, total, unknown = [], 0.0, []
    for role, n in calls.items():
        if n <= 0:
            continue
        pt, ct = tokens.get(role) or DEFAULT_TOKENS[role]
        price = prices.get(role)
        cost = None if price is None else n * (pt * price[0] + ct * price[1])
        if cost is None:
            unknown.append(role)
        else:
            total += cost
        rows.append({"role": role, "calls": round(n), "prompt_tokens": round(n * pt), "completion_tokens": round(n * ct),
                     "cost_usd": None if cost is None else round(cost, 4)})
    return {"roles": rows, "calls": sum(r["calls"] for r in rows),
            "tokens": sum(r["prompt_tokens"] + r["completion_tokens"] for r in rows),
            "cost_usd": round(total, 4), "unpriced_roles": unknown}
