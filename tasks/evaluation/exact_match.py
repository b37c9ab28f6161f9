"""Exact-match scoring of function calls against golden calls (BFCL-style, no LLM).

``score_calls(golden, predicted, params)`` compares one instruction's calls. ``params`` describes
each function's parameters (``{name: {"required": bool, "type": str, "default": any}}``, from the
spec) so that values are normalised by type — ``"3"`` and ``3`` are equal for an integer,
``"True"`` and ``true`` for a boolean, strings compare case- and space-insensitively — and so that
optional parameters are judged fairly: a golden value of ``""`` or ``null`` means "not given", so
leaving it out is right; an optional parameter at its spec default may be given or left out either
way; any other parameter the golden call does not give is an unexpected one. Required parameters must always match.

Per instruction: ``correct`` when the predicted sequence equals the golden one call for call, in
order — except among parallel calls (calls that carry the same ``group``, made in one turn, on either
side), whose order does not matter. Per call: each golden call is matched to at most one predicted call (any order), giving
true positives for precision (over predicted calls) and recall (over golden calls). Every mismatch
has a reason.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tasks.simulation.call_check import not_given

ABSENT = object()


@dataclass
class CallScore:
    """One instruction's exact-match outcome."""

    correct: bool
    names_correct: bool  # the function names alone, in order
    matched: int  # golden calls matched by a predicted call (true positives)
    n_golden: int
    n_predicted: int
    reasons: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.matched / self.n_predicted if self.n_predicted else float(self.n_golden == 0)

    @property
    def recall(self) -> float:
        return self.matched / self.n_golden if self.n_golden else 1.0


def arguments_of(value: Any) -> dict[str, Any] | None:
    """Call arguments as a dict: a dict as is, JSON text decoded (ToolAlpaca's ``Action_Input``),
    empty text as no arguments; None when they are not an object."""
    if isinstance(value, dict):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            return None
        return decoded if isinstance(decoded, dict) else None
    return None


def normalise(value: Any, type_: str | None) -> Any:
    """A value in a form where equal meanings compare equal, guided by the parameter's JSON type."""
    if value is None:
        return None
    if type_ in ("integer", "number"):
        try:
            number = float(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is not None:
            return int(number) if number.is_integer() else number
    if type_ == "boolean":
        if isinstance(value, str) and value.strip().casefold() in ("true", "false"):
            return value.strip().casefold() == "true"
        return value
    if type_ == "array" and isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            decoded = [v for v in value.split(",")]
        value = decoded
    if isinstance(value, list):
        return [normalise(v, None) for v in value]
    if isinstance(value, dict):
        return {str(k): normalise(v, None) for k, v in sorted(value.items())}
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _given(value: Any) -> bool:
    return value is not ABSENT and not not_given(value)


def match_call(golden: dict[str, Any], predicted: dict[str, Any], params: dict[str, dict[str, Any]]) -> list[str]:
    """Why ``predicted`` is not ``golden`` (empty: it matches). Calls are ``{"action", "action_input"}``."""
    if golden.get("action") != predicted.get("action"):
        return [f"function {predicted.get('action')!r} instead of {golden.get('action')!r}"]
    want, got = arguments_of(golden.get("action_input")), arguments_of(predicted.get("action_input"))
    if got is None:
        return [f"{golden['action']}: arguments are not a JSON object"]
    if want is None:  # an unreadable golden input: compare the raw texts
        same = normalise(str(golden.get("action_input")), "string") == normalise(str(predicted.get("action_input")), "string")
        return [] if same else [f"{golden['action']}: arguments differ from the golden text"]
    reasons = []
    for name in sorted(set(want) | set(got) | {p for p, d in params.items() if d.get("required")}):
        spec = params.get(name, {})
        g, p = want.get(name, ABSENT), got.get(name, ABSENT)
        at_default = not spec.get("required") and "default" in spec
        if _given(g):
            if p is ABSENT:
                if not (at_default and normalise(g, spec.get("type")) == normalise(spec["default"], spec.get("type"))):
                    reasons.append(f"{golden['action']}: {name} missing")
            elif normalise(p, spec.get("type")) != normalise(g, spec.get("type")):
                reasons.append(f"{golden['action']}: {name}={p!r}, expected {g!r}")
        elif spec.get("required") and g is ABSENT and p is ABSENT:
            reasons.append(f"{golden['action']}: required {name} missing")
        elif _given(p) and not (at_default and normalise(p, spec.get("type")) == normalise(spec["default"], spec.get("type"))):
            reasons.append(f"{golden['action']}: unexpected {name}={p!r}")
    return reasons


def score_calls(golden: list[dict[str, Any]], predicted: list[dict[str, Any]],
                params: dict[str, dict[str, dict[str, Any]]] | None = None) -> CallScore:
    """Score one instruction: ``params`` maps function name → parameter name → ``{required, type, default}``."""
    params = params or {}

    def reasons(g: dict[str, Any], p: dict[str, Any]) -> list[str]:
        return match_call(g, p, params.get(g.get("action") or "", {}))

    predicted = aligned(golden, predicted, reasons)
    in_order = [reasons(g, p) for g, p in zip(golden, predicted, strict=False)]
    why = [r for rs in in_order for r in rs]
    if len(predicted) < len(golden):
        why += [f"missing call {g.get('action')!r}" for g in golden[len(predicted):]]
    elif len(predicted) > len(golden):
        why += [f"extra call {p.get('action')!r}" for p in predicted[len(golden):]]
    free = list(range(len(predicted)))
    matched = 0
    for g in golden:  # per-call matching, any order
        hit = next((i for i in free if not reasons(g, predicted[i])), None)
        if hit is not None:
            free.remove(hit)
            matched += 1
    names = [g.get("action") for g in golden] == [p.get("action") for p in predicted]
    return CallScore(not why, names, matched, len(golden), len(predicted), why)


def calls_with_groups(steps: list[Any]) -> list[dict[str, Any]]:
    """``{"action", "action_input"}`` of each step (``Step`` records), with ``group`` (the turn's index) on the
    calls of a turn that made several at once."""
    shared = Counter(s.index for s in steps)
    return [{**s.as_call(), **({"group": s.index} if shared[s.index] > 1 else {})} for s in steps]


def _runs(calls: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """(start, end) of each run of two or more consecutive calls with the same ``group``."""
    out, start = [], 0
    for i in range(1, len(calls) + 1):
        if i == len(calls) or calls[i].get("group") is None or calls[i].get("group") != calls[start].get("group"):
            if i - start > 1 and calls[start].get("group") is not None:
                out.append((start, i))
            start = i
    return out


def aligned(golden: list[dict[str, Any]], predicted: list[dict[str, Any]],
            reasons: Callable[[dict[str, Any], dict[str, Any]], list[str]]) -> list[dict[str, Any]]:
    """``predicted`` with each stretch of parallel calls (on either side; overlapping stretches merged)
    reordered to line up with the golden calls: a call that matches first, then one of the same function."""
    spans: list[list[int]] = []
    for a, b in sorted(_runs(golden) + _runs(predicted)):
        if spans and a < spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], b)
        else:
            spans.append([a, b])
    out = list(predicted)
    for a, b in spans:
        pool = list(range(a, min(b, len(predicted))))
        order = []
        for pos in range(a, min(b, len(golden))):
            pick = next((i for i in pool if not reasons(golden[pos], predicted[i])), None)
            pick = pick if pick is not None else next((i for i in pool if predicted[i].get("action") == golden[pos].get("action")), None)
            if pick is not None:
                pool.remove(pick)
                order.append(pick)
        out[a:a + len(order) + len(pool)] = [predicted[i] for i in order + pool]
    return out


def parameter_table(spec: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """function (operationId) → parameter → ``{required, type, default}`` from an OpenAPI 3 spec
    (query/path/header parameters and the JSON request body's properties)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for item in (spec.get("paths") or {}).values():
        for op in (item or {}).values():
            if not isinstance(op, dict) or "operationId" not in op:
                continue
            table: dict[str, dict[str, Any]] = {}
            for p in op.get("parameters") or []:
                if isinstance(p, dict) and "name" in p:
                    schema = p.get("schema") or {}
                    table[p["name"]] = {"required": bool(p.get("required")), "type": schema.get("type"),
                                        **({"default": schema["default"]} if "default" in schema else {})}
            body = (((op.get("requestBody") or {}).get("content") or {}).get("application/json") or {}).get("schema") or {}
            for name, schema in (body.get("properties") or {}).items():
                table[name] = {"required": name in (body.get("required") or []), "type": (schema or {}).get("type"),
                               **({"default": schema["default"]} if "default" in (schema or {}) else {})}
            out[op["operationId"]] = table
    return out
