"""The LLM client: completions by role, over a transport, under a policy, into a ledger.

``await LLMClient.acomplete(role, messages, …)`` (or ``complete``, its blocking twin for threads)
returns an ``LLMResult`` and never raises for a failed call: retries with backoff, fallbacks and
timeouts are the transport's (``tasks.llm.transport``); what still fails comes back with ``error``
set. Every call runs on the process's one LLM event loop (a daemon thread), so a client's slots cap
its calls in flight across all threads, and thousands of coroutines (dialogues) can wait on it
without a thread each; ``submit`` schedules a coroutine there and hands back a
``concurrent.futures.Future``. A reply cut off by the token limit is continued (up to
``max_continuations``) and the parts joined. The policy (``tasks.llm.policy``) holds the spend cap,
rpm/tpm windows and slots; the ledger (``tasks.llm.ledger``) records every request and answers
repeated ones. The factory's own engines are litellm custom providers (``tasks.llm.engines``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import tasks.llm.engines  # noqa: F401 (the factory's engines register as litellm providers on import)
from schemas.ids import canonical_json, content_id
from tasks.llm.budget import SpendCap
from tasks.llm.config import BackendConfig
from tasks.llm.errors import NoModelGroup, ProviderError, SpendCapReached
from tasks.llm.fast_transport import (
    Endpoint,
    FastReply,
    FastTransport,
    FastTransportError,
    fast_endpoint,
    require_fast_where_asked,
)
from tasks.llm.jsontext import extract_json
from tasks.llm.ledger import Cache, CallLedger, Sink
from tasks.llm.loop import llm_loop, run, running_loop, submit
from tasks.llm.policy import CallPolicy
from tasks.llm.redact import Redactor
from tasks.llm.transport import LiteLLMTransport, read_reply
from tasks.llm.types import LLMResult

CONTINUE_PROMPT = "Your reply was cut off by the length limit. Continue exactly where it stopped; do not repeat anything."
T = TypeVar("T")


class LLMClient:
    """Completions by role: a transport (litellm), a policy (spend cap, limits, slots) and a ledger."""

    def __init__(
        self,
        config: BackendConfig,
        *,
        max_concurrent: int = 8,
        timeout_s: float = 600.0,
        num_retries: int | None = None,
        max_continuations: int = 2,
        ledger: Sink | None = None,
        cache: Cache | None = None,
        budget: SpendCap | None = None,
        transport: str = "auto",
    ) -> None:
        self.config = config
        self.redact = Redactor(config.secret_values())  # provider errors may quote the key they were sent
        settings = dict(config.router_settings)
        if num_retries is not None:
            settings["num_retries"] = num_retries
        settings.setdefault("timeout", timeout_s)
        settings.setdefault("retry_after", 0)
        self.transport = LiteLLMTransport(config, settings)
        self.fast = FastTransport(float(settings["timeout"]), self.transport.num_retries, float(settings["retry_after"]))
        self.default_transport = transport  # auto | litellm | fast, where a deployment does not say
        self._fast_routes: dict[str, list[Endpoint] | None] = {}
        self._identities: dict[str, str] = {}
        require_fast_where_asked(config)
        self.policy = CallPolicy(config.model_list, max_concurrent, budget)
        self.ledger = CallLedger(ledger, cache)
        self.max_continuations = max_continuations

    @property
    def budget(self) -> SpendCap:
        return self.policy.budget

    @property
    def max_concurrent(self) -> int:
        return self.policy.max_concurrent

    # the event loop ---------------------------------------------------------------------------
    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the LLM loop (``tasks.llm.loop.submit``)."""
        return submit(coro)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the LLM loop and wait for it (from any thread but the loop's own)."""
        return run(coro)

    def close(self) -> None:
        """Let go of the transport's Router and the fast path's HTTP sessions (the LLM loop is the process's
        and stays up)."""
        self.transport.close()
        if running_loop() is llm_loop():
            llm_loop().create_task(self.fast.aclose())
        else:
            self.run(self.fast.aclose())

    def fast_route(self, group: str) -> list[Endpoint] | None:
        """The group's deployments as fast-path endpoints when every one of them is served there and no
        Router-only setting applies (``tasks.llm.fast_transport``), else None: litellm sends it."""
        if group not in self._fast_routes:
            endpoints = [fast_endpoint(d, self.default_transport) for d in self.config.deployments(group)]
            plain = not self.config.router_only(but=("fallbacks", "default_fallbacks"))
            self._fast_routes[group] = endpoints if plain and endpoints and all(endpoints) else None  # type: ignore[assignment]
        return self._fast_routes[group]

    def model_signature(self, role: str) -> str:
        return self.config.signature(role)

    # completions ------------------------------------------------------------------------------
    def complete(self, role: str, messages: list[dict[str, Any]], **kw: Any) -> LLMResult:
        """Blocking ``acomplete`` for code on threads (documenter, instruction writer)."""
        return self.run(self.acomplete(role, messages, **kw))

    async def acomplete(
        self,
        role: str,
        messages: list[dict[str, Any]],
        *,
        prompt_version: str,
        subject_id: str = "",
        json_schema: dict[str, Any] | None = None,
        schema_name: str = "reply",
        max_tokens: int | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> LLMResult:
        """One logical completion for ``role``; continued when cut by the length limit. Never raises.
        ``tools``: OpenAI function tools; the reply's ``tool_calls`` come back in the result."""
        if running_loop() is not llm_loop():  # awaited on another loop: hop over to ours
            return await asyncio.wrap_future(self.submit(self.acomplete(
                role, messages, prompt_version=prompt_version, subject_id=subject_id, json_schema=json_schema,
                schema_name=schema_name, max_tokens=max_tokens, temperature=temperature, seed=seed, tools=tools)))
        group = self.config.group_for(role)
        if not self.config.deployments(group):
            failure = NoModelGroup(f"no model group {group!r} for role {role!r} in {self.config.source}")
            return LLMResult(role=role, text="", model="", error=str(failure), failure=failure)
        params = request_params(max_tokens, temperature, seed, tools, json_schema, schema_name)
        total = await self._continued(role, group, messages, params, prompt_version, subject_id)
        if json_schema is not None and total.ok:
            total.parsed, total.parse_error = extract_json(total.text)
            if total.parse_error and total.finish_reason == "length":
                total.parse_error = f"cut off by the token limit after {total.continuations} continuation(s): {total.parse_error}"
        return total

    async def _continued(self, role: str, group: str, messages: list[dict[str, Any]], params: dict[str, Any],
                         prompt_version: str, subject_id: str) -> LLMResult:
        """The reply, continued while cut by the length limit (up to ``max_continuations``), parts joined."""
        total = LLMResult(role=role, text="", model="", calls=0)
        convo = list(messages)
        parts: list[str] = []
        nulls: list[bool] = []
        for attempt in range(self.max_continuations + 1):
            # A continuation is free-form text appended to the cut reply, so it is asked without the schema.
            call_params = params if attempt == 0 else {k: v for k, v in params.items() if k not in ("response_format", "tools")}
            one = await self._call(role, group, convo, call_params, prompt_version, subject_id)
            total.absorb(one)
            if not one.ok:
                break
            parts.append(one.text)
            nulls.append(one.content_null)
            if one.finish_reason != "length" or one.tool_calls or attempt == self.max_continuations:
                break
            total.continuations += 1
            convo = list(messages) + [{"role": "assistant", "content": "".join(parts)}, {"role": "user", "content": CONTINUE_PROMPT}]
        total.text = "".join(parts)
        total.content_null = bool(nulls) and all(nulls)
        return total

    async def _call(self, role: str, group: str, messages: list[dict[str, Any]], params: dict[str, Any], prompt_version: str,
                    subject_id: str) -> LLMResult:
        served_by = self.served_by(group)
        request_hash = content_id("llm-request/2", served_by, group, messages, params)
        replayed = self.ledger.replay(request_hash, role)
        if replayed is not None:
            return replayed
        start = time.perf_counter()
        async with self.policy.admit(group, messages, params) as refusal:
            if refusal is not None:  # the run's spend cap: no new call
                return LLMResult(role=role, text="", model=group, error=refusal, failure=SpendCapReached(refusal))
            try:
                response, error = await self._send(group, messages, params), None
            except Exception as exc:  # every provider error becomes a recorded failure
                response, error = None, self.redact(f"{type(exc).__name__}: {str(exc)[:500]}")
        latency = round(time.perf_counter() - start, 6)  # as the ledger keeps it, so a replay gives back the same
        if response is None:
            result = LLMResult(role=role, text="", model=group, latency_s=latency, error=error, finish_reason=None,
                               failure=ProviderError(error))
        elif isinstance(response, FastReply):
            result = self.fast.read(response, role, group, latency)
        else:
            result = read_reply(response, role, group, latency)
        self.budget.charge(result.cost_usd)
        self.ledger.record(request_hash, result, prompt_version, subject_id, served_by)
        return result

    def served_by(self, group: str) -> str:
        """The group's cache identity (``BackendConfig.cache_identity``) as canonical JSON, made once per group."""
        if group not in self._identities:
            self._identities[group] = canonical_json(self.config.cache_identity(group))
        return self._identities[group]

    async def _send(self, group: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Any:
        """The reply: a ``FastReply`` from the fast transport, else litellm's. A group on the fast path that still fails after its
        retries (or is refused by every deployment: 401, 403, 404) hands the call to its ``fallbacks`` groups
        in turn, each on its own path; a group on litellm's path has the Router do that."""
        try:
            return await self._send_to(group, messages, params)
        except FastTransportError as exc:  # only the fast path raises it; litellm's Router does its own fallbacks
            if not (exc.retryable or exc.status in (401, 403, 404)) or not self.config.fallbacks_of(group):
                raise
            failure: Exception = exc
        for other in self.config.fallbacks_of(group):
            try:
                return await self._send_to(other, messages, params)
            except Exception as exc:  # the next fallback; the last failure is the one reported
                failure = exc
        raise failure

    async def _send_to(self, group: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> Any:
        """One group's reply on its own path: the fast transport where ``fast_route`` serves it, else litellm."""
        route = self.fast_route(group)
        if route is None:
            return await self.transport.send(group, messages, params)
        return await self.fast.send(route, messages, params)


def request_params(max_tokens: int | None, temperature: float | None, seed: int | None, tools: list[dict[str, Any]] | None,
                   json_schema: dict[str, Any] | None, schema_name: str) -> dict[str, Any]:
    """The litellm parameters of one request: sampling, tools, and the JSON Schema as ``response_format``."""
    params: dict[str, Any] = {}
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    if temperature is not None:
        params["temperature"] = temperature
    if seed is not None:
        params["seed"] = seed
    if tools:
        params["tools"] = tools
        # litellm 1.106 routes any call with tools through its MCP bridge, which needs the optional `mcp`
        # package; our tools are plain functions, so the bridge is skipped.
        params["_skip_mcp_handler"] = True
    if json_schema is not None:
        params["response_format"] = {"type": "json_schema",
                                      "json_schema": {"name": schema_name, "schema": json_schema, "strict": False}}
    return params
