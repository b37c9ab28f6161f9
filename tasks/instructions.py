"""The user agent's instructions (issue #3): per API, N requests of several kinds.

Kinds: ``normal``; ``missing_detail`` (a required detail is left out, so the assistant must ask);
``unanswerable`` (no function can serve it, so the assistant must say so). Shares are settings.
Each kind is one LLM call; replies are filtered — placeholders, the API's own name, over-long
texts and near-duplicates (word 3-gram Jaccard against those already kept) are refused with a
reason. Never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from schemas import load_schema, validate_record
from schemas.ids import content_id
from schemas.records import Instruction, Rejection
from tasks.executor import Completer
from tasks.prompts import load_prompt

KIND_RULES = {
    "normal": "Each request must be something these functions can fully do, with every detail they need given in the request.",
    "missing_detail": "Each request must leave out one detail that a function needs (for example the city, the date or the ID), so that the assistant has to ask for it.",
    "unanswerable": "Each request must be about the same topic but ask for something none of these functions can do.",
}
_PLACEHOLDER = re.compile(r"<[^<>]{1,40}>|\[[A-Za-z _-]{2,40}\]|\{[A-Za-z _-]{2,40}\}|\bX{3,}\b|\b(?:lorem ipsum|placeholder|your_\w+|example\.com)\b", re.IGNORECASE)
NEAR_DUPLICATE = 0.6


@dataclass
class InstructionBatch:
    instructions: list[Instruction] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def plan_kinds(n: int, missing_detail_share: float = 0.1, unanswerable_share: float = 0.1) -> dict[str, int]:
    """How many instructions of each kind make ``n`` (rounded; normal takes the rest)."""
    if not (0 <= missing_detail_share <= 1 and 0 <= unanswerable_share <= 1 and missing_detail_share + unanswerable_share <= 1):
        raise ValueError("instruction shares must be between 0 and 1 and add up to at most 1")
    missing = min(n, round(n * missing_detail_share))
    unanswerable = min(n - missing, round(n * unanswerable_share))
    normal = n - missing - unanswerable
    return {k: v for k, v in (("normal", normal), ("missing_detail", missing), ("unanswerable", unanswerable)) if v > 0}


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9]+", text.casefold())
    return {tuple(words[i:i + 3]) for i in range(max(1, len(words) - 2))}


def similarity(a: str, b: str) -> float:
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / len(sa | sb) if sa and sb else 0.0


def generate_instructions(llm: Completer, *, api_id: str, doc_id: str, api_name: str, functions_doc: str, n: int = 10,
                          missing_detail_share: float = 0.1, unanswerable_share: float = 0.1, seed: int = 0,
                          max_tokens: int = 700, model: str = "") -> InstructionBatch:
    """Up to ``n`` instructions for one API, with the refusals and their reasons."""
    prompt = load_prompt("user_instructions")
    out = InstructionBatch()
    kept: list[str] = []

    def refuse(reason: str, detail: str) -> None:
        out.rejections.append(Rejection(content_id("rejection", "instruction", doc_id, reason, detail), "instruction", api_id, reason, detail[:2000]))

    for kind, count in plan_kinds(n, missing_detail_share, unanswerable_share).items():
        r = llm.complete("user", prompt.render(functions=functions_doc, kind_rule=KIND_RULES[kind], count=count),
                         prompt_version=prompt.version, subject_id=api_id, json_schema=load_schema("llm_instructions"),
                         schema_name="instructions", max_tokens=max_tokens, temperature=0.8, seed=seed)
        if not r.ok:
            refuse("llm_error", f"{kind}: {r.error}")
            continue
        if r.parse_error or not isinstance(r.parsed, dict):
            refuse("instructions_unparsable", f"{kind}: {r.parse_error or 'not a JSON object'}")
            continue
        texts = r.parsed.get("instructions")
        if not isinstance(texts, list):
            refuse("instructions_wrong_shape", f"{kind}: " + "; ".join(validate_record("llm_instructions", r.parsed)[:2]))
            continue
        taken = 0
        for text in texts:
            text = " ".join(str(text).split()) if isinstance(text, (str, int, float)) else ""
            why = _problem(text, api_name, kept)
            if why:
                refuse(why, f"{kind}: {text[:300]}")
                continue
            if taken >= count:
                break
            kept.append(text)
            taken += 1
            out.instructions.append(Instruction(
                instruction_id=content_id("instruction", doc_id, kind, text.casefold(), prompt.version, model),
                api_id=api_id, doc_id=doc_id, kind=kind, text=text, details="", prompt_version=prompt.version, model=model,
            ))
    return out


def _problem(text: str, api_name: str, kept: list[str]) -> str | None:
    if len(text) < 10:
        return "too_short"
    if len(text) > 600:
        return "too_long"
    if _PLACEHOLDER.search(text):
        return "placeholder"
    if api_name and len(api_name) > 3 and api_name.casefold() in text.casefold():
        return "names_the_api"
    if any(similarity(text, k) >= NEAR_DUPLICATE for k in kept):
        return "near_duplicate"
    return None
