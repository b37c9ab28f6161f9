"""Value types of the LLM layer (no litellm here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from tasks.llm.errors import LLMError, ProviderError

ROLES = ("documenter", "user", "assistant", "executor", "judge")


@dataclass
class LLMResult:
    """The outcome of one logical completion (continuations included).

    ``error`` is set (and ``text`` may be empty) when the call failed after retries; callers turn it
    into a rejection reason. ``parsed`` holds the JSON value when a schema was asked and the text
    parsed; otherwise ``parse_error`` says why not. ``tool_calls`` (native function calling) are
    ``{"id", "name", "arguments"}`` with the arguments as the model wrote them (text). ``reasoning``: the
    reply's reasoning text where the provider sent one; ``content_null``: the message's ``content`` was null
    (``text`` is then ""). ``failure``: the failure as a type (``tasks.llm.errors``: the provider's, the spend
    cap, no model group). A replayed result (``cached``) carries the recorded reply, usage, cost and latency.
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
    failure: LLMError | None = None
    reasoning: str | None = None
    content_null: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def absorb(self, one: LLMResult) -> None:
        """Add one request's outcome (a part of this completion) to this total: counts, tokens, latency,
        cost (unknown once any part's is), the last finish reason, the first tool calls, the failure."""
        self.calls += 1
        self.model = one.model or self.model
        self.prompt_tokens += one.prompt_tokens
        self.completion_tokens += one.completion_tokens
        self.latency_s += one.latency_s
        self.cost_usd = None if (self.cost_usd is None or one.cost_usd is None) else self.cost_usd + one.cost_usd
        self.cached = self.cached or one.cached
        self.finish_reason = one.finish_reason
        self.tool_calls = self.tool_calls or one.tool_calls
        if one.reasoning is not None:
            self.reasoning = (self.reasoning or "") + one.reasoning
        if not one.ok:
            self.error, self.failure = one.error, one.failure

    def raise_for_failure(self) -> None:
        """Raise the failure (``LLMError``; ``ProviderError`` when only the text is known)."""
        if self.error is not None:
            raise self.failure or ProviderError(self.error)


class Completer(Protocol):
    """The one LLM client interface the stages use (``tasks.llm.backend.LLMClient`` is it; tests pass
    fakes): ``acomplete`` on the LLM loop, ``complete`` its blocking twin for code on threads, and the
    text naming what serves a role (part of content-hash IDs). Never raises for a failed call."""

    async def acomplete(self, role: str, messages: list[dict[str, Any]], *, prompt_version: str, subject_id: str = "",
                        json_schema: dict[str, Any] | None = None, schema_name: str = "reply", max_tokens: int | None = None,
                        temperature: float | None = None, seed: int | None = None,
                        tools: list[dict[str, Any]] | None = None) -> LLMResult: ...

    def complete(self, role: str, messages: list[dict[str, Any]], **kw: Any) -> LLMResult: ...

    def model_signature(self, role: str) -> str: ...
