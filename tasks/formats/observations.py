"""The observation text an executor writes after a call: ``Status Code: 200. Response: {…}``, cut at a
length with a note. ``render_observation`` writes it; ``observation_status`` reads the status back
(for the funnel, the process rules and ToolAlpaca's layouts)."""

from __future__ import annotations

import json
import re
from typing import Any


def observation_status(text: str) -> int | None:
    """The status of an observation ``render_observation`` wrote (``Status Code: 404. …``), or None."""
    m = re.match(r"Status Code: (\d{3})", str(text or "").lstrip())
    return int(m.group(1)) if m else None


def render_observation(status: int, response: Any, max_chars: int) -> str:
    """``Status Code: {status}. Response: {json}``, cut to ``max_chars`` with a note saying so."""
    text = f"Status Code: {status}. Response: " + json.dumps(response, ensure_ascii=False, default=str)
    if len(text) > max_chars:
        text = text[: max(0, max_chars - 40)] + f" … [cut at {max_chars} characters]"
    return text
