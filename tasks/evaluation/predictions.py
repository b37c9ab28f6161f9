"""Saved model outputs, read for scoring without running the model (``toolfactory evaluate --predictions``).

Two layouts, told apart by their first non-blank character:

- the paper's judged-outputs layout (a JSON object: API name → records whose ``input`` holds the judge
  prompt, read by ``tasks.evaluation.judged_outputs``): the instruction, the model's calls with their ``Retruns:``
  and its ``Final Response:``;
- JSON Lines of OpenAI chat examples (``{"messages": [...]}``, optionally ``id`` / ``golden_id`` /
  ``instruction_id`` and ``api``): the first user message is the instruction, each assistant
  ``tool_calls`` entry a call (its ``arguments`` a JSON string or object), the ``tool`` message answering
  it (by ``tool_call_id``, else the next one) its observation, and the last assistant message without
  tool calls the final answer. Several tool calls in one turn are kept in order (parallel calls).

Out: ``Prediction``s and, per line or record that could not be read, a problem (never an exception
for bad content); ``match_predictions`` pairs them with an evaluation set's items.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from schemas.records import Step
from schemas.views import EvalItem
from tasks.evaluation.judged_outputs import read_judged
from tasks.formats.chat_format import decode_json_text
from tasks.formats.toolalpaca_format import ImportFormatError


@dataclass
class Prediction:
    source: str  # where in the file ("Auth0 #11", "line 3")
    instruction: str
    steps: list[Step]  # calls known by name, arguments and observation (``Step.call``)
    final_answer: str
    api: str | None = None
    ids: tuple[str, ...] = ()  # golden_id / instruction_id / id the file gives
    problems: list[str] = field(default_factory=list)


def _norm(text: str) -> str:
    return " ".join(str(text or "").split()).casefold()


def read_predictions(text: str) -> tuple[list[Prediction], list[str]]:
    """(predictions, problems) of a file's text in either layout (see the module docstring)."""
    if text.lstrip().startswith("{") and not _looks_like_jsonl(text):
        try:
            data = json.loads(text)
        except ValueError as exc:
            return [], [f"not JSON: {exc}"]
        return _from_judged(data)
    return _from_jsonl(text)


def _looks_like_jsonl(text: str) -> bool:
    """Whether the first line alone is a chat example (JSON Lines), not the start of one JSON object."""
    try:
        first = json.loads(text.lstrip().split("\n", 1)[0])
    except ValueError:
        return False
    return isinstance(first, dict) and "messages" in first


def _from_judged(data: Any) -> tuple[list[Prediction], list[str]]:
    try:
        records = read_judged(data)
    except ImportFormatError as exc:
        return [], [str(exc)]
    out, problems = [], []
    for r in records:
        where = f"{r.api} {r.record_id if r.record_id.startswith('#') else '#' + r.record_id}"
        if r.problems or not r.instruction:
            problems.append(f"{where}: {'; '.join(r.problems) or 'no instruction'}")
            continue
        out.append(Prediction(where, r.instruction, [Step.bare_call(n, c["action"], c["action_input"], c.get("observation") or "") for n, c in enumerate(r.predicted)], r.final_response, api=r.api))
    return out, problems


def _from_jsonl(text: str) -> tuple[list[Prediction], list[str]]:
    out, problems = [], []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            problems.append(f"line {n}: not JSON ({exc.msg})")
            continue
        p = from_messages(row.get("messages") if isinstance(row, dict) else None, f"line {n}")
        if p.problems:
            problems.append(f"line {n}: {'; '.join(p.problems)}")
            continue
        p.api = str(row["api"]) if row.get("api") else None
        p.ids = tuple(str(row[k]) for k in ("golden_id", "instruction_id", "id") if row.get(k))
        out.append(p)
    return out, problems


def from_messages(messages: Any, source: str) -> Prediction:
    """A ``Prediction`` of one OpenAI chat example (problems listed when it has no instruction)."""
    p = Prediction(source, "", [], "")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        p.problems.append("no messages list")
        return p
    p.instruction = next((_content(m) for m in messages if m.get("role") == "user"), "")
    if not p.instruction:
        p.problems.append("no user message")
    by_id: dict[str, Step] = {}
    waiting: list[Step] = []
    for m in messages:
        if m.get("role") == "assistant" and m.get("tool_calls"):
            for c in m["tool_calls"] if isinstance(m["tool_calls"], list) else []:
                fn = (c or {}).get("function") or {}
                step = Step.bare_call(len(p.steps), str(fn.get("name") or ""), _arguments(fn.get("arguments")))
                p.steps.append(step)
                waiting.append(step)
                if c.get("id"):
                    by_id[str(c["id"])] = step
        elif m.get("role") == "tool":
            step = by_id.pop(str(m.get("tool_call_id")), None) or (waiting[0] if waiting else None)
            if step is not None:
                step.observation = _content(m)
                waiting.remove(step)
        elif m.get("role") == "assistant" and _content(m):
            p.final_answer = _content(m)
    return p


def _content(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):  # content parts
        return " ".join(str(part.get("text") or "") for part in content if isinstance(part, dict))
    return str(content or "")


def _arguments(raw: Any) -> Any:
    """JSON text decoded; text that is not JSON is scored as written (exact match reports it)."""
    return decode_json_text(raw) if raw is not None else {}


def match_predictions(items: list[EvalItem], predictions: list[Prediction]) -> tuple[dict[str, Prediction], list[str]]:
    """golden_id → its prediction (by an ID the file gives, else by API name, when given, and the
    instruction's text, compared without case or spacing); and the predictions that match no item or
    repeat one already matched."""
    by_id = {k: i for i in items for k in (i.golden_id, i.instruction_id)}
    by_text: dict[str, list[EvalItem]] = {}
    for i in items:
        by_text.setdefault(_norm(i.instruction), []).append(i)
    matched: dict[str, Prediction] = {}
    unmatched = []
    for p in predictions:
        item = next((by_id[k] for k in p.ids if k in by_id), None)
        if item is None:
            candidates = by_text.get(_norm(p.instruction), [])
            named = [i for i in candidates if p.api is None or _norm(i.doc.name) == _norm(p.api)]
            item = (named or [None])[0]
        if item is None:
            unmatched.append(f"{p.source}: no instruction of the set reads {_short(p.instruction)!r}")
        elif item.golden_id in matched:
            unmatched.append(f"{p.source}: a second prediction for {_short(item.instruction)!r} (the first is kept)")
        else:
            matched[item.golden_id] = p
    return matched, unmatched


def _short(text: str, n: int = 60) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= n else text[: n - 1] + "…"
