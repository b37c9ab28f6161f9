"""The held-out split of APIs, and the leakage check between what trains and what evaluates.

``assign_splits`` puts APIs in ``train`` or ``heldout``, stratified by category: within a category
APIs are taken in the order of a seeded hash of their ID, and each goes to ``heldout`` when the
category's held-out count stays within ``share`` of its size, rounded (at 0.1: one API of a
category of 5 to 14, two of 15 to 24; a category of 4 or fewer stays in ``train``). An API
already assigned keeps its split, so the split is fixed before training and new APIs only add to it.

``leakage`` compares held-out (or evaluation) APIs with training ones: same or near-same names
(word Jaccard ≥ 0.8), near-same descriptions (word-bigram Jaccard ≥ 0.6), and evaluation
instructions sharing a word 5-gram with a training instruction.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from schemas.ids import content_id
from tasks.similarity import jaccard, word_ngrams, words

NAME_SIMILAR = 0.8
DESCRIPTION_SIMILAR = 0.6
INSTRUCTION_NGRAM = 5


def split_version(share: float, seed: int) -> str:
    return content_id("api_split", round(share, 6), seed)


def assign_splits(apis: list[tuple[str, str]], share: float, seed: int, existing: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Splits for the APIs not yet in ``existing`` (api_id → (split, category)). ``apis``: (api_id, category)."""
    by_cat: dict[str, list[str]] = defaultdict(list)
    for api_id, category in apis:
        by_cat[category].append(api_id)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # category → [held out, total]
    for split, category in existing.values():
        counts[category][0] += split == "heldout"
        counts[category][1] += 1
    out: dict[str, str] = {}
    for category, ids in sorted(by_cat.items()):
        for api_id in sorted((i for i in set(ids) if i not in existing), key=lambda i: content_id("split-order", seed, i)):
            held, total = counts[category]
            heldout = held + 1 <= int(share * (total + 1) + 0.5)  # rounded proportional share; a category's first API trains
            out[api_id] = "heldout" if heldout else "train"
            counts[category][0] += heldout
            counts[category][1] += 1
    return out


@dataclass
class Side:
    """One side of the leakage check: its APIs (name, description) and instructions."""

    apis: list[dict[str, Any]]  # {"api_id", "name", "description"}
    instructions: list[str]


def leakage(test: Side, train: Side, max_examples: int = 10) -> dict[str, Any]:
    """Overlaps of names, descriptions and instruction n-grams between ``test`` and ``train``."""
    names, descriptions = [], []
    train_ids = {a["api_id"] for a in train.apis}
    train_names = [(a, set(words(a["name"]))) for a in train.apis]
    train_desc = [(a, word_ngrams(a.get("description") or "", 2)) for a in train.apis]
    for t in test.apis:
        if t["api_id"] in train_ids:
            names.append({"test": t["name"], "train": t["name"], "similarity": 1.0, "same_api": True})
            continue
        tn = set(words(t["name"]))
        for a, an in train_names:
            sim = jaccard(tn, an)
            if sim >= NAME_SIMILAR:
                names.append({"test": t["name"], "train": a["name"], "similarity": round(sim, 3), "same_api": False})
        td = word_ngrams(t.get("description") or "", 2)
        for a, ad in train_desc:
            sim = jaccard(td, ad)
            if sim >= DESCRIPTION_SIMILAR:
                descriptions.append({"test": t["name"], "train": a["name"], "similarity": round(sim, 3)})
    def grams_of(text: str) -> list[tuple[str, ...]]:  # whole n-grams in text order (a shorter text has none)
        w = words(text)
        return [tuple(w[i:i + INSTRUCTION_NGRAM]) for i in range(len(w) - INSTRUCTION_NGRAM + 1)]

    grams = {g for text in train.instructions for g in grams_of(text)}
    shared = []
    for text in test.instructions:
        hits = [g for g in grams_of(text) if g in grams]
        if hits:
            shared.append({"instruction": text, "shared": " ".join(hits[0])})
    n = len(test.instructions)
    return {"test_apis": len(test.apis), "train_apis": len(train.apis), "name_overlaps": names[:max_examples],
            "n_name_overlaps": len(names), "description_overlaps": descriptions[:max_examples], "n_description_overlaps": len(descriptions),
            "instructions": n, "instructions_sharing_ngram": len(shared),
            "instruction_overlap_share": round(len(shared) / n, 4) if n else 0.0, "instruction_examples": shared[:max_examples]}
