"""The engines the factory serves itself, registered as litellm custom providers.

``toolfactory-local/…``: the embedded SmolLM2 through llama-cpp (JSON-schema constrained);
``toolfactory-hf/<folder>``: a trained checkpoint through transformers (``tasks.llm.checkpoint_engine``).
Other code may register its own (``register_provider``: the test fake in ``toolfactory.testing`` does);
a registered provider's calls are priced by the function it registers with (0 by default).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import litellm
from litellm import CustomLLM, ModelResponse
from litellm.utils import custom_llm_setup

from tasks.llm.config import EMBEDDED_PREFIX
from tasks.llm.local_engine import LocalEngine, Runtime

litellm.suppress_debug_info = True
litellm.drop_params = True  # a provider that lacks a param (seed, response_format) gets it dropped, not an error

LOCAL_PROVIDER = EMBEDDED_PREFIX.rstrip("/")  # the provider that serves the embedded model
HF_PROVIDER = "toolfactory-hf"

# provider name → the USD cost of one of its responses
_PRICED: dict[str, Callable[[Any], float]] = {}


def schema_of(optional_params: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON Schema a request's ``response_format`` asks for, or None."""
    rf = optional_params.get("response_format")
    if not isinstance(rf, dict):
        return None
    if rf.get("type") == "json_schema":
        return (rf.get("json_schema") or {}).get("schema")
    if rf.get("type") == "json_object":
        return rf.get("schema") or {"type": "object"}
    return None


def model_response(model: str, text: str, finish_reason: str, prompt_tokens: int, completion_tokens: int,
                   tool_calls: list[dict[str, Any]] | None = None) -> ModelResponse:
    """A litellm ``ModelResponse`` for an engine's reply (``tool_calls``: ``{"name", "arguments"[, "id"]}``)."""
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


class EngineHandler(CustomLLM):
    """A litellm custom provider whose ``generate`` blocks: ``acompletion`` runs it off the event loop."""

    def completion(self, model: str, messages: list, api_base: str, custom_prompt_dict: dict, model_response: ModelResponse,
                   print_verbose: Callable, encoding: Any, api_key: Any, logging_obj: Any, optional_params: dict,
                   acompletion: Any = None, litellm_params: Any = None, logger_fn: Any = None, headers: Any = None,
                   timeout: Any = None, client: Any = None) -> ModelResponse:
        return self.generate(model, messages, optional_params)

    def generate(self, model: str, messages: list[dict[str, Any]], optional_params: dict[str, Any]) -> ModelResponse:
        raise NotImplementedError

    async def acompletion(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return await asyncio.to_thread(self.completion, *args, **kwargs)


class LocalHandler(EngineHandler):
    """``toolfactory-local``: generation by the shared LocalEngine."""

    engine: LocalEngine = LocalEngine()

    def generate(self, model: str, messages: list[dict[str, Any]], optional_params: dict[str, Any]) -> ModelResponse:
        gen = self.engine.generate(
            messages,
            json_schema=schema_of(optional_params),
            max_tokens=int(optional_params.get("max_tokens") or optional_params.get("max_completion_tokens") or 512),
            temperature=float(optional_params.get("temperature", 0.2)),
            seed=optional_params.get("seed"),
        )
        return model_response(f"{LOCAL_PROVIDER}/{model}", gen.text, gen.finish_reason, gen.prompt_tokens, gen.completion_tokens)


class HFHandler(EngineHandler):
    """``toolfactory-hf``: a trained checkpoint (the model name is its folder) generating in this process."""

    def generate(self, model: str, messages: list[dict[str, Any]], optional_params: dict[str, Any]) -> ModelResponse:
        from tasks.llm.checkpoint_engine import engine  # torch: loaded on first use

        text, pt, ct, finish = engine(model).generate(
            messages, max_tokens=int(optional_params.get("max_tokens") or 512),
            temperature=optional_params.get("temperature"), seed=optional_params.get("seed"))
        return model_response(f"{HF_PROVIDER}/{model}", text, finish, pt, ct)


def register_provider(name: str, handler: CustomLLM, cost: Callable[[Any], float] = lambda response: 0.0) -> None:
    """Serve ``name/…`` models by ``handler`` (once per process); ``cost`` prices one response."""
    _PRICED[name] = cost
    if name not in {item["provider"] for item in litellm.custom_provider_map}:
        litellm.custom_provider_map.append({"provider": name, "custom_handler": handler})
        custom_llm_setup()


def engine_cost(model: str, response: Any) -> float | None:
    """The cost of a registered provider's response; None when ``model`` is not one of theirs."""
    for name, cost in _PRICED.items():
        if model.startswith(name):
            return cost(response)
    return None


def is_engine(model: str) -> bool:
    """Whether ``model`` is served by a registered provider (priced by it, not by litellm's map)."""
    return model.startswith(tuple(_PRICED))


def configure_local_engine(model_path: str | None = None, n_ctx: int = 8192, n_threads: int | None = None, seed: int = 0,
                           runtime: Runtime = "auto") -> None:
    """Set how the embedded model is loaded (before its first use in this process)."""
    current = LocalHandler.engine
    if (current.model_path, current.n_ctx, current.seed, current.runtime) != (model_path, n_ctx, seed, runtime) or (
        n_threads and current.n_threads != n_threads
    ):
        LocalHandler.engine = LocalEngine(model_path=model_path, n_ctx=n_ctx, n_threads=n_threads, seed=seed, runtime=runtime)


# Local models cost nothing: a price-map entry so litellm's own accounting says 0, not "unknown".
litellm.register_model({f"{LOCAL_PROVIDER}/smollm2": {
    "input_cost_per_token": 0.0, "output_cost_per_token": 0.0, "litellm_provider": LOCAL_PROVIDER, "mode": "chat",
    "max_tokens": 8192, "cache_creation_input_token_cost": 0.0, "cache_read_input_token_cost": 0.0}})
register_provider(LOCAL_PROVIDER, LocalHandler())
register_provider(HF_PROVIDER, HFHandler())
