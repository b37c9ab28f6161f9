"""How a request reaches a model: litellm, direct or through its Router, and the reply read back.

``LiteLLMTransport.send(group, messages, params)`` returns litellm's response or raises the provider's
error. A group with one deployment and no Router-only settings goes straight to
``litellm.acompletion`` with our own retries (429, 5xx, timeouts, connection errors; ``Retry-After``
honoured); any other group goes through the Router (load balancing, fallbacks), made on first use.
``read_reply`` turns a response into an ``LLMResult``.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import litellm
from litellm import Router

from tasks.llm.config import BackendConfig
from tasks.llm.engines import engine_cost, is_engine
from tasks.llm.replies import reasoning_of, retry_wait, tool_calls_of, with_retries
from tasks.llm.types import LLMResult

RETRYABLE = (litellm.RateLimitError, litellm.Timeout, litellm.APIConnectionError, litellm.InternalServerError,
             litellm.ServiceUnavailableError)


class LiteLLMTransport:
    """Sends completions for one backends config. ``router_settings``: litellm Router settings
    (``num_retries``, ``timeout``, ``retry_after`` are also what direct calls follow)."""

    def __init__(self, config: BackendConfig, router_settings: dict[str, Any]) -> None:
        self.config = config
        self.router_settings = router_settings
        self.num_retries = int(router_settings.get("num_retries") if router_settings.get("num_retries") is not None else 2)
        self.timeout_s = float(router_settings["timeout"])
        self.min_retry_wait_s = float(router_settings.get("retry_after") or 0)
        self._router: Router | None = None
        self._router_lock = threading.Lock()
        self._direct: dict[str, dict[str, Any] | None] = {}
        self.sleep = asyncio.sleep  # how a retry waits (a test records the waits instead)

    @property
    def router_made(self) -> bool:
        return self._router is not None

    @property
    def router(self) -> Router:
        """The litellm Router, made on first use. A Router registers its deployments in litellm's
        price map, which turns an unknown price into a reported cost of 0.0 (and sends every call
        through litellm's zero-cost diagnosis, ~20% of the CPU of a call); so a run whose groups all
        go direct never makes one, and an unknown price stays unknown."""
        with self._router_lock:
            if self._router is None:
                self._router = Router(model_list=[{k: v for k, v in d.items() if k != "transport"} for d in self.config.model_list],
                                      **self.router_settings)
            return self._router

    def close(self) -> None:
        """Unhook the Router from litellm's global callback lists (each live Router adds to every call's cost)."""
        if self._router is not None:
            self._router.discard()

    def direct_params(self, group: str) -> dict[str, Any] | None:
        """The ``litellm.acompletion`` params of ``group``'s one deployment, or None (the Router's)."""
        if group not in self._direct:
            self._direct[group] = self.config.direct_params(group, self.timeout_s)
        return self._direct[group]

    async def send(self, group: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Any:
        """litellm's response for one request; raises what the provider raised after retries."""
        direct = self.direct_params(group)
        if direct is None:
            return await self.router.acompletion(model=group, messages=messages, **params)
        return await with_retries(lambda: litellm.acompletion(messages=messages, **direct, **params), self.num_retries,
                                  lambda exc: isinstance(exc, RETRYABLE),
                                  lambda exc, attempt: retry_wait(exc, attempt, self.min_retry_wait_s), self.sleep)


def read_reply(response: Any, role: str, group: str, latency_s: float) -> LLMResult:
    """An ``LLMResult`` from litellm's response (text, model, tokens, cost, finish reason, tool calls)."""
    choice = response.choices[0]
    usage = getattr(response, "usage", None)
    return LLMResult(
        role=role,
        text=choice.message.content or "",
        model=str(response.model or group),
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        cost_usd=response_cost(response),
        latency_s=latency_s,
        finish_reason=choice.finish_reason,
        tool_calls=tool_calls_of(choice.message),
        reasoning=reasoning_of(choice.message),
        content_null=choice.message.content is None,
    )


def price_per_token(model: str) -> tuple[float, float] | None:
    """USD per (prompt, completion) token from litellm's price map; 0 for the factory's own engines,
    None when the map does not know the model."""
    if is_engine(model):
        return (0.0, 0.0)
    entry = litellm.model_cost.get(model) or litellm.model_cost.get(model.split("/", 1)[-1])
    if not entry or entry.get("input_cost_per_token") is None:
        return None
    return float(entry["input_cost_per_token"]), float(entry.get("output_cost_per_token") or 0.0)


def response_cost(response: Any) -> float | None:
    """USD for the call: a registered engine's own price; else litellm's figure, None when it knows no
    price for the model (computed again only when litellm did not try)."""
    model = str(getattr(response, "model", ""))
    own = engine_cost(model, response)
    if own is not None:
        return own
    hidden = getattr(response, "_hidden_params", None) or {}
    if "response_cost" in hidden:
        return None if hidden["response_cost"] is None else float(hidden["response_cost"])
    try:
        return float(litellm.completion_cost(completion_response=response))
    except Exception:
        return None
