"""The user agent's instructions (issue #3): per API, N requests of several kinds.

Kinds: ``normal``; ``missing_detail`` (a required detail is left out, so the assistant must ask);
``unanswerable`` (no function can serve it, so the assistant must say so); ``multi_api`` (it needs
this API and a partner of the same category, shown as one combined function list; see
``tasks.simulation.multi_api``); ``chain`` (it needs a chain of 2–4 operations, each fed by a value the one
before returns — ``tasks.simulation.chain_plan``; without one the kind is refused as ``no_chain``). Shares are settings; a top-up asks only for what is missing per kind and
checks new texts against the ones already kept.
Each kind is one LLM call whose reply schema asks for exactly the kind's count of requests of at
least ``MIN_WORDS`` and at most ``MAX_WORDS`` words (a grammar holds a local model to it). Replies are tidied — list numbering
and a trailing "using the <API> API" are taken off — then filtered: placeholders, the API's own name,
over-long texts and near-duplicates (word 3-gram Jaccard against those already kept) are refused
with a reason. Never raises.

A refusal is recorded once per subject, stage, reason and config: its ID hashes the doc, the kind,
the reason, the prompt version and model, and the refused text — or, for a shortfall of a kind
(``SHORTFALL_REASONS``), the planned count and partner. A settled shortfall is not asked again under
the same plan and config (``shortfall_ids``). A call that failed after its retries is no refusal:
its kind is in ``InstructionBatch.failed`` and the next run asks again.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas import load_schema, validate_record
from schemas.ids import content_id, hash_draw
from schemas.records import Instruction, Rejection
from tasks.documentation.nl_docs import nl_documentation
from tasks.llm.types import Completer
from tasks.prompts import load_prompt
from tasks.similarity import jaccard, word_ngrams
from tasks.simulation.chain_plan import PlannedChain
from tasks.simulation.toolset_slice import ToolsetSlicer

KIND_RULES = {
    "normal": "Each request must be something these functions can fully do, with every detail they need given in the request.",
    "missing_detail": "Each request must leave out one detail that a function needs (for example the city, the date or the ID), so that the assistant has to ask for it.",
    "unanswerable": "Each request must be about the same topic but ask for something none of these functions can do.",
    "multi_api": "These functions belong to two APIs (each name starts with its API's prefix). Each request must need functions of both APIs, one after the other.",
    "chain": "Each request must need several of these functions in a row, each one using a value the one before returns.",  # PlannedChain.rule names them
}
_PLACEHOLDER = re.compile(r"<[^<>]{1,40}>|\[[A-Za-z _-]{2,40}\]|\{[A-Za-z _-]{2,40}\}|\bX{3,}\b|\b(?:lorem ipsum|placeholder|your_\w+|example\.com)\b", re.IGNORECASE)
NEAR_DUPLICATE = 0.6
MIN_WORDS, MAX_WORDS, MAX_WORD = 4, 25, 24  # words per request, characters per word: a grammar keeps a small model from running on
_NUMBERING = re.compile(r"^\s*(?:\d{1,2}[.):]|[-*•])\s+")


SHARED_KINDS = ("missing_detail", "unanswerable", "multi_api", "chain")  # kinds with a share (setting <kind>_share), in plan order
SHORTFALL_REASONS = ("no_partner", "no_chain", "instructions_unparsable", "instructions_wrong_shape", "too_few")


@dataclass
class InstructionBatch:
    instructions: list[Instruction] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # kind → the LLM error (retryable: not refused)


def refusal_id(doc_id: str, kind: str, reason: str, prompt_version: str, model: str, subject: str) -> str:
    """A refusal's ID: once per doc, kind, reason, config and subject (a text, or a shortfall's plan)."""
    return content_id("rejection", "instruction", doc_id, kind, reason, prompt_version, model, subject)


def shortfall_subject(kind: str, planned: int, partner_doc_id: str) -> str:
    """What a shortfall refusal is about: the planned count (and, for multi-API, the partner)."""
    return f"planned {planned}" + (f" with {partner_doc_id}" if kind == "multi_api" else "")


def shortfall_ids(doc_id: str, plan: dict[str, int], prompt_version: str, model: str,
                  partner_doc_id: str = "") -> dict[str, str]:
    """The IDs of the refusals that would settle each kind's shortfall under this plan and config
    (ID → kind); a multi-API shortfall also depends on the partner."""
    return {refusal_id(doc_id, kind, reason, prompt_version, model, shortfall_subject(kind, n, partner_doc_id)): kind
            for kind, n in plan.items() for reason in SHORTFALL_REASONS}


@dataclass(frozen=True)
class MultiApi:
    """The partner of a multi-API instruction and the combined function list of both APIs; where the two together
    are large, the slicer of the combined spec and the prefixes (a batch is then written about a window of each)."""

    partner_doc_id: str
    partner_name: str
    functions_doc: str
    slicer: ToolsetSlicer | None = field(default=None, compare=False)
    prefixes: tuple[str, ...] = ()


def plan_kinds(n: int, missing_detail_share: float = 0.1, unanswerable_share: float = 0.1,
               multi_api_share: float = 0.0, chain_share: float = 0.0, key: str = "") -> dict[str, int]:
    """How many instructions of each kind make ``n`` (in this order; normal takes the rest). ``n × share``
    is rounded to the nearest count, or — given ``key`` (a doc's ID) — down or up by a draw keyed on
    ``key`` and the kind, so the shares hold across many APIs even when each API gets fewer than one
    (two instructions at 0.1: one API in five gets one), and a doc's plan stays the same run after run."""
    shares = dict(zip(SHARED_KINDS, (missing_detail_share, unanswerable_share, multi_api_share, chain_share), strict=True))
    if not (all(0 <= x <= 1 for x in shares.values()) and sum(shares.values()) <= 1):
        raise ValueError("instruction shares must be between 0 and 1 and add up to at most 1")
    counts, left = {}, n
    for kind, share in shares.items():
        counts[kind] = min(left, _share_count(n * share, f"{key}:{kind}" if key else ""))
        left -= counts[kind]
    return {k: v for k, v in {"normal": left, **counts}.items() if v > 0}


def _share_count(exact: float, key: str) -> int:
    """``exact`` rounded: to the nearest integer without ``key``, else up with the probability of its
    fraction, drawn from a hash of ``key``."""
    if not key:
        return round(exact)
    whole = math.floor(exact + 1e-9)
    draw = hash_draw("share", key)
    return whole + (1 if draw < exact - whole - 1e-9 else 0)


def still_needed(plan: dict[str, int], have: list[str]) -> dict[str, int]:
    """What a top-up asks for: the plan less the kinds already kept (``have``: their kinds)."""
    out = {k: v - have.count(k) for k, v in plan.items()}
    return {k: v for k, v in out.items() if v > 0}


def similarity(a: str, b: str) -> float:
    """Word-3-gram Jaccard of two instructions."""
    return jaccard(word_ngrams(a, 3), word_ngrams(b, 3))


def generate_instructions(llm: Completer, *, api_id: str, doc_id: str, api_name: str, functions_doc: str, n: int = 10,
                          missing_detail_share: float = 0.1, unanswerable_share: float = 0.1, seed: int = 0,
                          max_tokens: int = 700, model: str = "", counts: dict[str, int] | None = None,
                          existing: Sequence[str] = (), multi: MultiApi | None = None,
                          planned: dict[str, int] | None = None, slicer: ToolsetSlicer | None = None,
                          chain: PlannedChain | None = None) -> InstructionBatch:
    """Up to ``n`` instructions for one API (or exactly ``counts`` per kind), with the refusals and
    their reasons. ``existing``: texts already kept (a top-up must not repeat them); ``planned``: the
    whole plan per kind when ``counts`` is a top-up (it names a shortfall's refusal). ``multi_api``
    needs ``multi``; without a partner that kind is refused as ``no_partner``. ``slicer`` (a large
    API): each kind's batch is written about a window of target operations (``target_functions``); ``chain``
    needs ``chain`` (else refused as ``no_chain``)."""
    prompt = load_prompt("user_instructions")
    out = InstructionBatch()
    kept: list[str] = list(existing)
    plan = counts if counts is not None else plan_kinds(n, missing_detail_share, unanswerable_share)
    whole = planned or plan
    partner_id = multi.partner_doc_id if multi else ""

    def refuse(kind: str, reason: str, detail: str, text: str | None = None) -> None:
        subject = text.casefold() if text is not None else shortfall_subject(kind, whole.get(kind, 0), partner_id)
        out.rejections.append(Rejection(refusal_id(doc_id, kind, reason, prompt.version, model, subject), "instruction",
                                        api_id, reason, f"{kind}: {detail}"[:2000]))

    for n_kind, (kind, count) in enumerate(plan.items()):
        lacking = _lacking(kind, multi, chain)
        if lacking:
            refuse(kind, lacking[0], f"{lacking[1]} ({count} not written)")
            continue
        names, partner_ids = ([api_name, multi.partner_name], [multi.partner_doc_id]) if kind == "multi_api" and multi else ([api_name], [])
        functions, targets, rule = _shown(kind, functions_doc, multi, slicer, seed + n_kind, chain)
        r = llm.complete("user", prompt.render(functions=functions, kind_rule=rule, count=count),
                         prompt_version=prompt.version, subject_id=api_id, json_schema=reply_schema(count),
                         schema_name="instructions", max_tokens=max_tokens, temperature=0.8, seed=seed)
        if not r.ok:
            out.failed[kind] = r.error or "llm_error"
            continue
        if r.parse_error or not isinstance(r.parsed, dict):
            refuse(kind, "instructions_unparsable", r.parse_error or "not a JSON object")
            continue
        texts = r.parsed.get("instructions")
        if not isinstance(texts, list):
            refuse(kind, "instructions_wrong_shape", "; ".join(validate_record("llm_instructions", r.parsed)[:2]))
            continue
        taken = 0
        for text in texts:
            text = tidy(str(text), names) if isinstance(text, (str, int, float)) else ""
            why = _problem(text, names, kept)
            if why:
                refuse(kind, why, text[:300], text)
                continue
            if taken >= count:
                break
            kept.append(text)
            taken += 1
            out.instructions.append(_instruction(api_id, doc_id, kind, text, prompt.version, model, partner_ids, targets, chain))
        if taken < count:  # every planned instruction is kept or accounted for
            refuse(kind, "too_few", f"{count - taken} of {count} not written (the reply held {len(texts)} texts)")
    return out


def _lacking(kind: str, multi: MultiApi | None, chain: PlannedChain | None) -> tuple[str, str] | None:
    """(reason, detail) when a kind cannot be written: a multi-API one without a partner, a chain one without a chain."""
    if kind == "multi_api" and multi is None:
        return "no_partner", "no other documented API in this category to pair with"
    if kind == "chain" and chain is None:
        return "no_chain", "no output of one operation feeds a parameter of another"
    return None


def _instruction(api_id: str, doc_id: str, kind: str, text: str, prompt_version: str, model: str, partner_ids: list[str],
                 targets: list[str], chain: PlannedChain | None = None) -> Instruction:
    """The record of one kept instruction; its ID hashes what it depends on (text, kind, prompt, model, partner,
    targets, chain — a ``chain`` instruction's only)."""
    chain = chain if kind == "chain" else None
    ops = list(chain.operations) if chain else []
    return Instruction(
        instruction_id=content_id("instruction", doc_id, kind, text.casefold(), prompt_version, model, *partner_ids,
                                  *([targets] if targets else []), *([ops] if ops else [])),
        api_id=api_id, doc_id=doc_id, kind=kind, text=text, details=chain.describe() if chain else "",
        prompt_version=prompt_version, model=model, partner_doc_ids=partner_ids, target_functions=list(targets), chain=ops,
    )


def _shown(kind: str, functions_doc: str, multi: MultiApi | None, slicer: ToolsetSlicer | None, seed: int,
           chain: PlannedChain | None = None) -> tuple[str, list[str], str]:
    """What the user agent is shown for a kind's batch: the functions, the target operations when that is a
    large API's window (``tasks.simulation.toolset_slice``; a chain's operations are its window), and the rule."""
    rule = chain.rule() if kind == "chain" and chain else KIND_RULES[kind]
    if kind == "multi_api" and multi and multi.slicer is not None and multi.slicer.large:
        targets = multi.slicer.targets_across(list(multi.prefixes), seed)
        return nl_documentation(multi.slicer.spec_for(targets)), targets, rule
    if kind == "multi_api" and multi:
        return multi.functions_doc, [], rule
    if slicer is not None and slicer.large and kind == "chain" and chain:
        return nl_documentation(slicer.spec_for(list(chain.operations))), list(chain.operations), rule
    if slicer is not None and slicer.large:
        targets = slicer.targets(seed)
        return nl_documentation(slicer.spec_for(targets)), targets, rule
    return functions_doc, [], rule


def reply_schema(count: int) -> dict[str, Any]:
    """The reply's schema for one kind's batch: ``count`` requests of ``MIN_WORDS`` to ``MAX_WORDS`` words."""
    schema = copy.deepcopy(load_schema("llm_instructions"))
    schema["properties"]["instructions"].update(minItems=count, maxItems=count)
    word = f'[^ "\\\\]{{1,{MAX_WORD}}}'  # no quote or backslash: a grammar built from the pattern must not end the string early
    schema["properties"]["instructions"]["items"]["pattern"] = f"^{word}( {word}){{{MIN_WORDS - 1},{MAX_WORDS - 1}}}$"
    return schema


def tidy(text: str, api_names: list[str]) -> str:
    """One line, without list numbering and without a mention of the API as the means ("… using the
    Open Library API"): what a user would have typed."""
    text = _NUMBERING.sub("", " ".join(text.split()))
    for name in filter(None, api_names):
        text = re.sub(rf"\s*\b(?:using|with|via|through|from|on|in)\s+(?:the\s+)?{re.escape(name)}(?:\s+API)?\b", "", text,
                      flags=re.IGNORECASE)
    return re.sub(r"\s+([.,;:?!])", r"\1", text).strip()


def _names(text: str, name: str) -> bool:
    """Whether ``text`` names the API: a one-word name in any case ("skyfinder"), a name of several
    words as written ("Public Holidays", while "public holidays" is what the request is about)."""
    if not name or len(name) <= 3:
        return False
    return name in text or (" " not in name.strip() and name.casefold() in text.casefold())


def _problem(text: str, api_names: list[str], kept: list[str]) -> str | None:
    if len(text) < 10:
        return "too_short"
    if len(text) > 600:
        return "too_long"
    if _PLACEHOLDER.search(text):
        return "placeholder"
    if any(_names(text, name) for name in api_names):
        return "names_the_api"
    if any(similarity(text, k) >= NEAR_DUPLICATE for k in kept):
        return "near_duplicate"
    return None
