"""Word n-grams and Jaccard similarity: how near-duplicate texts are found (user-agent filter,
curation dedup)."""

from __future__ import annotations

import re

_WORDS = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    """Lower-cased alphanumeric words."""
    return _WORDS.findall(text.casefold())


def word_ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    """The word n-grams of ``text`` (a shorter text gives its words as one gram; no words, none)."""
    w = words(text)
    return {tuple(w[i:i + n]) for i in range(max(1, len(w) - n + 1))} if w else set()


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0
