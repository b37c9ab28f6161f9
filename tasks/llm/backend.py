"""The LLM client: roles → litellm Router model groups. The only module that imports litellm.

``await LLMClient.acomplete(role, messages, …)`` (or ``complete``, its blocking twin for threads)
returns an ``LLMResult`` and never raises for a failed call: retries with backoff, fallbacks and
timeouts are the Router's; what still fails comes back with ``error`` set. Every call runs on the
process's one LLM event loop (a daemon thread), so a client's semaphore caps its calls in flight
across all threads, and thousands of coroutines (dialogues) can wait on it without a thread each;
``submit`` schedules a coroutine there and hands back a ``concurrent.futures.Future``. A reply cut off by the token limit is continued (up to ``max_continuations``)
and the parts joined. Every underlying request lands in the ledger callback as an ``LLMCall``;
a ``cache`` callback (the ledger read back) answers repeated requests without a new call.

Three engines are registered as litellm custom providers: ``toolfactory-local/…`` (SmolLM2 through
llama-cpp, JSON-schema constrained), ``toolfactory-hf/<folder>`` (a trained checkpoint through
transformers, for evaluation) and ``toolfactory-fake/…`` (scripted, for tests).
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# litellm's HTTP pool allows 1,000 connections, 500 per host: below the in-flight caps this factory is
# run with. The client's own semaphore (max_concurrent_llm_calls) is the cap; the pool must not be.
os.environ.setdefault("AIOHTTP_CONNECTOR_LIMIT", "100000")
os.environ.setdefault("AIOHTTP_CONNECTOR_LIMIT_PER_HOST", "100000")

import asyncio
import concurrent.futures
import json
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import litellm
from litellm import CustomLLM, ModelResponse, Router
from litellm.utils import custom_llm_setup

from schemas.ids import content_id
from schemas.records import LLMCall
from tasks.llm import fake as fake_module
from tasks.llm.budget import SpendCap
from tasks.llm.config import EMBEDDED_PREFIX, BackendConfig
from tasks.llm.jsontext import extract_json
from tasks.llm.limiter import RateLimiter, group_limits
from tasks.llm.local_engine import LocalEngine
from tasks.llm.loop import llm_loop, run, running_loop, submit
from tasks.llm.redact import Redactor
from tasks.llm.replies import decode_tool_calls, retry_wait, tool_calls_of
from tasks.llm.types import LLMResult

litellm.suppress_debug_info = True
litellm.drop_params = True  # a provider that lacks a param (seed, response_format) gets it dropped, not an error

LOCAL_PROVIDER = EMBEDDED_PREFIX.rstrip("/")  # the provider that serves the embedded model
FAKE_PROVIDER = "toolfactory-fake"
HF_PROVIDER = "toolfactory-hf"
CONTINUE_PROMPT = "Your reply was cut off by the length limit. Continue exactly where it stopped; do not repeat anything."

# Local models cost nothing: a custom price map so litellm's cost accounting says 0, not "unknown".
litellm.register_model(
    {
        f"{LOCAL_PROVIDER}/smollm2": {
            "input_cost_per_token": 0.0, "output_cost_per_token": 0.0,
            "litellm_provider": LOCAL_PROVIDER, "mode": "chat", "max_tokens": 8192,
            "cache_creation_input_token_cost": 0.0, "cache_read_input_token_cost": 0.0,
        }
    }
)


def _schema_of(optional_params: dict[str, Any]) -> dict[str, Any] | None:
    rf = optional_params.get("response_format")
    if not isinstance(rf, dict):
        return None
    if rf.get("type") == "json_schema":
        return (rf.get("json_schema") or {}).get("schema")
    if rf.get("type") == "json_object":
        return rf.get("schema") or {"type": "object"}
    return None


def _model_response(model: str, text: str, finish_reason: str, prompt_tokens: int, completion_tokens: int,
                    tool_calls: list[dict[str, Any]] | None = None) -> ModelResponse:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls:
        message["tool_calls"] = [
            {"id": str(c.get("id") or f"call_{i}"), "type": "function", "function": {
                "name": c["name"], "arguments": c["arguments"] if isinstance(c["arguments"], str) else json.dumps(c["arguments"])}}
            for i, c in enumerate(tool_calls)]
        finish_reason = "tool_calls" if finish_reason == "stop" else finish_reason
    return ModelResponse(
        model=model,
        choices=[{"index": 0, "message": message, "finish_reason": finish_reason}],
        usage={"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
               "total_tokens": prompt_tokens + completion_tokens},
    )


class LocalHandler(CustomLLM):
    """litellm custom provider ``toolfactory-local``: generation by the shared LocalEngine."""

    engine: LocalEngine = LocalEngine()

    def completion(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict, model_response: ModelResponse,
                   print_verbose: Callable, encoding: Any, api_key: Any, logging_obj: Any, optional_params: dict,
                   acompletion: Any = None, litellm_params: Any = None, logger_fn: Any = None, headers: Any = None,
                   timeout: Any = None, client: Any = None) -> ModelResponse:
        gen = self.engine.generate(
            messages,
            json_schema=_schema_of(optional_params),
            max_tokens=int(optional_params.get("max_tokens") or optional_params.get("max_completion_tokens") or 512),
            temperature=float(optional_params.get("temperature", 0.2)),
            seed=optional_params.get("seed"),
        )
        return _model_response(f"{LOCAL_PROVIDER}/{model}", gen.text, gen.finish_reason, gen.prompt_tokens, gen.completion_tokens)

    async def acompletion(self, *args: Any, **kwargs: Any) -> ModelResponse:  # llama.cpp blocks: off the event loop
        return await asyncio.to_thread(self.completion, *args, **kwargs)


def _fake_error(err: fake_module.FakeError, model: str) -> Exception:
    kw = {"message": err.message, "model": model, "llm_provider": FAKE_PROVIDER}
    if err.status == 429:
        import httpx

        headers = {"retry-after": str(err.retry_after)} if err.retry_after is not None else {}
        resp = httpx.Response(429, headers=headers, request=httpx.Request("POST", "http://fake.invalid"))
        return litellm.RateLimitError(response=resp, **kw)
    if err.status in (408, 504):
        return litellm.Timeout(**kw)
    if err.status == 400:
        return litellm.BadRequestError(**kw)
    if err.status == 401:
        return litellm.AuthenticationError(**kw)
    if err.status == 503:
        return litellm.ServiceUnavailableError(**kw)
    return litellm.InternalServerError(**kw)


class FakeHandler(CustomLLM):
    """litellm custom provider ``toolfactory-fake``: replies from the installed FakeLLM."""

    def completion(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict, model_response: ModelResponse,
                   print_verbose: Callable, encoding: Any, api_key: Any, logging_obj: Any, optional_params: dict,
                   acompletion: Any = None, litellm_params: Any = None, logger_fn: Any = None, headers: Any = None,
                   timeout: Any = None, client: Any = None) -> ModelResponse:
        request = fake_module.FakeRequest(
            role=model, messages=messages, json_schema=_schema_of(optional_params),
            max_tokens=optional_params.get("max_tokens"), temperature=optional_params.get("temperature"),
            params=dict(optional_params),
        )
        try:
            reply = fake_module.active().handle(request)
        except fake_module.FakeError as err:
            raise _fake_error(err, model) from None
        pt = reply.prompt_tokens if reply.prompt_tokens is not None else sum(len(str(m.get("content", ""))) // 4 for m in messages)
        ct = reply.completion_tokens if reply.completion_tokens is not None else max(1, len(reply.text) // 4)
        response = _model_response(f"{FAKE_PROVIDER}/{model}", reply.text, reply.finish_reason, pt, ct, reply.tool_calls)
        response._hidden_params = {**(getattr(response, "_hidden_params", None) or {}),
                                   "fake_cost_usd": fake_module.active().cost_per_call}
        return response

    async def acompletion(self, *args: Any, **kwargs: Any) -> ModelResponse:  # scripted replies are instant
        return self.completion(*args, **kwargs)


class HFHandler(CustomLLM):
    """litellm custom provider ``toolfactory-hf``: a trained checkpoint (the model name is its folder)
    generating in this process through transformers (``training.inference``)."""

    def completion(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict, model_response: ModelResponse,
                   print_verbose: Callable, encoding: Any, api_key: Any, logging_obj: Any, optional_params: dict,
                   acompletion: Any = None, litellm_params: Any = None, logger_fn: Any = None, headers: Any = None,
                   timeout: Any = None, client: Any = None) -> ModelResponse:
        from training.inference import engine

        text, pt, ct, finish = engine(model).generate(
            messages, max_tokens=int(optional_params.get("max_tokens") or 512),
            temperature=optional_params.get("temperature"), seed=optional_params.get("seed"))
        return _model_response(f"{HF_PROVIDER}/{model}", text, finish, pt, ct)

    async def acompletion(self, *args: Any, **kwargs: Any) -> ModelResponse:  # torch generation blocks: off the event loop
        return await asyncio.to_thread(self.completion, *args, **kwargs)


_LOCAL_HANDLER = LocalHandler()
_FAKE_HANDLER = FakeHandler()
_HF_HANDLER = HFHandler()


def _register_providers() -> None:
    present = {item["provider"] for item in litellm.custom_provider_map}
    if LOCAL_PROVIDER not in present:
        litellm.custom_provider_map.append({"provider": LOCAL_PROVIDER, "custom_handler": _LOCAL_HANDLER})
    if FAKE_PROVIDER not in present:
        litellm.custom_provider_map.append({"provider": FAKE_PROVIDER, "custom_handler": _FAKE_HANDLER})
    if HF_PROVIDER not in present:
        litellm.custom_provider_map.append({"provider": HF_PROVIDER, "custom_handler": _HF_HANDLER})
    custom_llm_setup()


_register_providers()


def configure_local_engine(model_path: str | None = None, n_ctx: int = 8192, n_threads: int | None = None, seed: int = 0) -> None:
    """Set how the embedded model is loaded (before its first use in this process)."""
    current = LocalHandler.engine
    if (current.model_path, current.n_ctx, current.seed) != (model_path, n_ctx, seed) or (
        n_threads and current.n_threads != n_threads
    ):
        LocalHandler.engine = LocalEngine(model_path=model_path, n_ctx=n_ctx, n_threads=n_threads, seed=seed)


Ledger = Callable[[LLMCall], None]
Cache = Callable[[str], "LLMCall | None"]
T = TypeVar("T")


class LLMClient:
    """Completions by role over a litellm Router, with a global in-flight cap, ledger and cache."""

    def __init__(
        self,
        config: BackendConfig,
        *,
        max_concurrent: int = 8,
        timeout_s: float = 600.0,
        num_retries: int | None = None,
        max_continuations: int = 2,
        ledger: Ledger | None = None,
        cache: Cache | None = None,
        budget: SpendCap | None = None,
    ) -> None:
        self.config = config
        self.budget = budget or SpendCap()
        self.redact = Redactor(config.secret_values())  # provider errors may quote the key they were sent
        settings = dict(config.router_settings)
        if num_retries is not None:
            settings["num_retries"] = num_retries
        settings.setdefault("timeout", timeout_s)
        settings.setdefault("retry_after", 0)
        self._router_settings = settings
        self._router: Router | None = None  # made on first use: only groups that need it use it
        self._router_lock = threading.Lock()
        self.max_continuations = max_continuations
        self.ledger = ledger
        self.cache = cache
        self.max_concurrent = max_concurrent
        self._slots = asyncio.Semaphore(max_concurrent)  # bound to the LLM loop on first wait
        self.limiters = {group: RateLimiter(rpm, tpm) for group, (rpm, tpm) in group_limits(config.model_list).items()
                         if rpm is not None or tpm is not None}
        self.num_retries = int(settings.get("num_retries") if settings.get("num_retries") is not None else 2)
        self.timeout_s = float(settings["timeout"])
        self.min_retry_wait_s = float(settings.get("retry_after") or 0)
        self._direct: dict[str, dict[str, Any] | None] = {}

    # the event loop ---------------------------------------------------------------------------
    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the LLM loop (``tasks.llm.loop.submit``)."""
        return submit(coro)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the LLM loop and wait for it (from any thread but the loop's own)."""
        return run(coro)

    def close(self) -> None:
        """Unhook the Router from litellm's global callback lists (each live Router adds to every
        call's cost). The LLM loop is the process's and stays up."""
        if self._router is not None:
            self._router.discard()

    @property
    def router(self) -> Router:
        """The litellm Router, made on first use. A Router registers its deployments in litellm's
        price map, which turns an unknown price into a reported cost of 0.0 (and sends every call
        through litellm's zero-cost diagnosis, ~20% of the CPU of a call); so a run whose groups all
        go direct never makes one, and an unknown price stays unknown."""
        with self._router_lock:
            if self._router is None:
                self._router = Router(model_list=self.config.model_list, **self._router_settings)
            return self._router

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
            return LLMResult(role=role, text="", model="", error=f"no model group {group!r} for role {role!r} in {self.config.source}")
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
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": json_schema, "strict": False},
            }
        total = LLMResult(role=role, text="", model="", calls=0)
        convo = list(messages)
        parts: list[str] = []
        for attempt in range(self.max_continuations + 1):
            # A continuation is free-form text appended to the cut reply, so it is asked without the schema.
            call_params = params if attempt == 0 else {k: v for k, v in params.items() if k not in ("response_format", "tools")}
            one = await self._call(role, group, convo, call_params, prompt_version, subject_id)
            total.calls += 1
            total.model = one.model or total.model
            total.prompt_tokens += one.prompt_tokens
            total.completion_tokens += one.completion_tokens
            total.latency_s += one.latency_s
            total.cost_usd = None if (total.cost_usd is None or one.cost_usd is None) else total.cost_usd + one.cost_usd
            total.cached = total.cached or one.cached
            total.finish_reason = one.finish_reason
            total.tool_calls = total.tool_calls or one.tool_calls
            if not one.ok:
                total.error = one.error
                break
            parts.append(one.text)
            if one.finish_reason != "length" or one.tool_calls or attempt == self.max_continuations:
                break
            total.continuations += 1
            convo = list(messages) + [{"role": "assistant", "content": "".join(parts)}, {"role": "user", "content": CONTINUE_PROMPT}]
        total.text = "".join(parts)
        if json_schema is not None and total.ok:
            total.parsed, total.parse_error = extract_json(total.text)
            if total.parse_error and total.finish_reason == "length":
                total.parse_error = f"cut off by the token limit after {total.continuations} continuation(s): {total.parse_error}"
        return total

    async def _call(self, role: str, group: str, messages: list[dict[str, Any]], params: dict[str, Any], prompt_version: str,
                    subject_id: str) -> LLMResult:
        request_hash = content_id(self.config.signature(role), group, messages, params)
        if self.cache is not None:
            hit = self.cache(request_hash)
            if hit is not None and hit.status == "ok" and hit.response_text is not None:
                return LLMResult(role=role, text=hit.response_text, model=hit.model, finish_reason=hit.finish_reason,
                                 prompt_tokens=0, completion_tokens=0, cost_usd=0.0, latency_s=0.0, cached=True,
                                 tool_calls=decode_tool_calls(hit.tool_calls))
        if self.budget.exhausted:  # the run's spend cap: no new call
            return LLMResult(role=role, text="", model=group, error=self.budget.refuse())
        start = time.perf_counter()
        limiter = self.limiters.get(group)
        if limiter is not None:  # our own rpm/tpm window; the estimate is prompt characters / 4 + the reply budget
            await limiter.acquire(sum(len(str(m.get("content") or "")) for m in messages) // 4 + int(params.get("max_tokens") or 256))
        async with self._slots:
            try:
                direct = self._direct_params(group)
                if direct is None:
                    response = await self.router.acompletion(model=group, messages=messages, **params)
                else:
                    response = await self._direct_call(direct, messages, params)
                error = None
            except Exception as exc:  # every provider error becomes a recorded failure
                response, error = None, self.redact(f"{type(exc).__name__}: {str(exc)[:500]}")
        latency = time.perf_counter() - start
        if response is None:
            result = LLMResult(role=role, text="", model=group, latency_s=latency, error=error, finish_reason=None)
        else:
            choice = response.choices[0]
            usage = getattr(response, "usage", None)
            result = LLMResult(
                role=role,
                text=choice.message.content or "",
                model=str(response.model or group),
                prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
                cost_usd=_cost(response),
                latency_s=latency,
                finish_reason=choice.finish_reason,
                tool_calls=tool_calls_of(choice.message),
            )
        self.budget.charge(result.cost_usd)
        if self.ledger is not None:
            self.ledger(
                LLMCall(
                    call_id=uuid.uuid4().hex[:16], request_hash=request_hash, role=role, model=result.model,
                    prompt_version=prompt_version, subject_id=subject_id, status="ok" if result.ok else "error",
                    prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens,
                    cost_usd=result.cost_usd, latency_s=round(latency, 6), finish_reason=result.finish_reason,
                    response_text=result.text if result.ok else None, error=result.error,
                    tool_calls=json.dumps(result.tool_calls) if result.tool_calls else None,
                )
            )
        return result


    def _direct_params(self, group: str) -> dict[str, Any] | None:
        if group not in self._direct:
            self._direct[group] = self.config.direct_params(group, self.timeout_s)
        return self._direct[group]

    async def _direct_call(self, deployment: dict[str, Any], messages: list[dict[str, Any]], params: dict[str, Any]) -> Any:
        """litellm.acompletion with retries on 429, 5xx, timeouts and connection errors, honouring Retry-After."""
        for attempt in range(self.num_retries + 1):
            try:
                return await litellm.acompletion(messages=messages, **deployment, **params)
            except _RETRYABLE as exc:
                if attempt >= self.num_retries:
                    raise
                await asyncio.sleep(retry_wait(exc, attempt, self.min_retry_wait_s))
        raise AssertionError("unreachable")


# Router settings that only the Router honours: a group under any of them always goes through it.
_RETRYABLE = (litellm.RateLimitError, litellm.Timeout, litellm.APIConnectionError, litellm.InternalServerError,
              litellm.ServiceUnavailableError)


def price_per_token(model: str) -> tuple[float, float] | None:
    """USD per (prompt, completion) token from litellm's price map; 0 for the built-in engines, None
    when the map does not know the model."""
    if model.startswith((LOCAL_PROVIDER, FAKE_PROVIDER, HF_PROVIDER)):
        return (0.0, 0.0)
    entry = litellm.model_cost.get(model) or litellm.model_cost.get(model.split("/", 1)[-1])
    if not entry or entry.get("input_cost_per_token") is None:
        return None
    return float(entry["input_cost_per_token"]), float(entry.get("output_cost_per_token") or 0.0)


def _cost(response: Any) -> float | None:
    """USD for the call: 0 for the built-in engines; else litellm's own figure, None when it knows no
    price for the model (computed again only when litellm did not try)."""
    model = str(getattr(response, "model", ""))
    hidden = getattr(response, "_hidden_params", None) or {}
    if model.startswith(FAKE_PROVIDER):
        return float(hidden.get("fake_cost_usd") or 0.0)  # a test's price per call (FakeLLM.cost_per_call)
    if model.startswith((LOCAL_PROVIDER, HF_PROVIDER)):
        return 0.0
    if "response_cost" in hidden:
        return None if hidden["response_cost"] is None else float(hidden["response_cost"])
    try:
        return float(litellm.completion_cost(completion_response=response))
    except Exception:
        return None
