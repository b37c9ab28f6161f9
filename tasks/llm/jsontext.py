"""Find the JSON value in an LLM reply. Never raises: returns (value, None) or (None, reason)."""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def extract_json(text: str | None) -> tuple[Any, str | None]:
    """Parse the JSON object or array in ``text``: whole text, a fenced block, or the outermost braces."""
    if text is None or not text.strip():
        return None, "empty reply"
    candidates = [text.strip()]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(text)]
    for opener, closer in (("{", "}"), ("[", "]")):
        start, end = text.find(opener), text.rfind(closer)
        if 0 <= start < end:
            candidates.append(text[start : end + 1])
    first_error = None
    for cand in candidates:
        try:
            return json.loads(cand, strict=False), None  # a raw newline inside a string is still that string
        except (json.JSONDecodeError, RecursionError, ValueError) as exc:
            first_error = first_error or f"not valid JSON: {exc}"
    if "{" not in text and "[" not in text:
        return None, "no JSON object in reply"
    return None, first_error or "not valid JSON"
