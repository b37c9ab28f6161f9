"""Wiring shared by the flows: the warehouse, the LLM client with its ledger and cache, run counters."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from schemas.records import LLMCall
from tasks.llm.backend import LLMClient, configure_local_engine
from tasks.llm.config import load_backend_config
from toolfactory.settings import Settings
from warehouse import Warehouse


@dataclass
class RunLedger:
    """Lands every LLM call in the warehouse as it happens, and counts this run's calls."""

    warehouse: Warehouse
    calls: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cost_unknown: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, call: LLMCall) -> None:
        self.warehouse.land([call])
        with self._lock:
            self.calls += 1
            self.errors += call.status != "ok"
            self.prompt_tokens += call.prompt_tokens
            self.completion_tokens += call.completion_tokens
            if call.cost_usd is None:
                self.cost_unknown += 1
            else:
                self.cost_usd += call.cost_usd

    def summary(self) -> dict[str, float | int]:
        return {
            "llm_calls": self.calls, "llm_errors": self.errors, "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens, "cost_usd": round(self.cost_usd, 6),
            "calls_with_unknown_cost": self.cost_unknown,
        }


def make_client(settings: Settings, warehouse: Warehouse, ledger: RunLedger) -> LLMClient:
    """The LLM client for a run: backends from settings, ledger and cache in the warehouse."""
    configure_local_engine(settings.local_model_path, settings.local_n_ctx, settings.local_n_threads, settings.seed)
    return LLMClient(
        load_backend_config(settings.backends_file),
        max_concurrent=settings.max_concurrent_llm_calls,
        timeout_s=settings.llm_timeout_s,
        num_retries=settings.llm_num_retries,
        max_continuations=settings.llm_max_continuations,
        ledger=ledger,
        cache=warehouse.cached_call,
    )
