"""Value types of the LLM layer (no litellm here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROLES = ("documenter", "user", "assistant", "executor", "judge")


@dataclass
class LLMResult:
    """The outcome of one logical completion (continuations included).

    ``error`` is set (and ``text`` may be empty) when the call failed after retries; callers turn it
    into a rejection reason. ``parsed`` holds the JSON value when a schema was asked and the text
    parsed; otherwise ``parse_error`` says why not. ``tool_calls`` (native function calling) are
    ``{"id", "name", "arguments"}`` with the arguments as the model wrote them (text).
    """

    role: str
    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0
    latency_s: float = 0.0
    finish_reason: str | None = None
    parsed: Any = None
    parse_error: str | None = None
    error: str | None = None
    cached: bool = False
    calls: int = 1
    continuations: int = 0
    tool_calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None
