"""Wiring shared by the flows: the warehouse, the LLM client with its ledger and cache, run counters."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from flows.collector import tuned_collector
from flows.settings import Settings, load_settings
from schemas.records import LLMCall, Step
from tasks.llm.budget import SpendCap
from tasks.llm.config import load_backend_config
from warehouse import Warehouse
from warehouse.batch_writer import BatchWriter
from warehouse.call_journal import CallJournal

if TYPE_CHECKING:
    from tasks.llm.backend import LLMClient

T = TypeVar("T")


class RunLedger:
    """Lands every LLM call in the warehouse, counts this run's calls, and answers the client's
    cache lookups.

    Calls are landed in batches by a ``BatchWriter`` (off the LLM loop; the flows land their other
    records through the same ``writer``), and journaled first (``warehouse/call_journal.py``), so a
    killed run's answered calls reach the warehouse when the next run starts. ``lookup`` consults the calls not yet written, then a set
    of the hashes the warehouse already answered (loaded once), and reads a row back only on a hit.
    """

    def __init__(self, warehouse: Warehouse, max_delay_s: float = 1.0):
        self.warehouse = warehouse
        self.calls = self.errors = self.prompt_tokens = self.completion_tokens = self.cost_unknown = 0
        self.cost_usd = 0.0
        self.recovered = CallJournal.recover(warehouse)  # calls a killed run was answered but never landed
        self.journal = None if warehouse.path == ":memory:" else CallJournal(warehouse.path)
        self._known = warehouse.answered_request_hashes()
        self._pending_ok: dict[str, LLMCall] = {}
        self._lock = threading.Lock()
        self.writer = BatchWriter(warehouse, max_delay_s=max_delay_s, on_landed=self._landed)
        self.budget = SpendCap()  # the client's, once a session ties them

    def __call__(self, call: LLMCall) -> None:
        with self._lock:
            if call.status == "ok":
                self._pending_ok[call.request_hash] = call
            self.calls += 1
            self.errors += call.status != "ok"
            self.prompt_tokens += call.prompt_tokens
            self.completion_tokens += call.completion_tokens
            if call.cost_usd is None:
                self.cost_unknown += 1
            else:
                self.cost_usd += call.cost_usd
        if self.journal is not None:
            self.journal.append(call)
        self.writer.put([call])

    def lookup(self, request_hash: str) -> LLMCall | None:
        """The answered call for this request, if this run or an earlier one made it."""
        with self._lock:
            hit = self._pending_ok.get(request_hash)
            if hit is not None:
                return hit
            if request_hash not in self._known:
                return None
        return self.warehouse.cached_call(request_hash)

    def _landed(self, records: list) -> None:
        with self._lock:
            for r in records:
                if isinstance(r, LLMCall) and r.status == "ok":
                    self._known.add(r.request_hash)
                    if self._pending_ok.get(r.request_hash) is r:
                        del self._pending_ok[r.request_hash]

    def flush(self) -> None:
        """Wait until every record put so far is in the warehouse."""
        self.writer.flush()

    def close(self) -> None:
        landed = False
        try:
            self.writer.close()
            landed = True
        finally:
            if self.journal is not None:
                self.journal.close(remove=landed)  # kept for the next run when a landing failed

    def summary(self) -> dict[str, float | int | None]:
        return {
            "llm_calls": self.calls, "llm_errors": self.errors, "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens, "cost_usd": round(self.cost_usd, 6),
            "calls_with_unknown_cost": self.cost_unknown,
            **(self.budget.summary() if self.budget.limit_usd is not None else {}),
        }


def step_mode(setting: str, embedded: bool, model: str, otherwise: str = "react") -> str:
    """How the assistant (or a model under test) answers: ``assistant_step_mode`` unless ``auto``; then
    JSON under a grammar on the embedded model, ReAct text for a checkpoint the factory trained
    (``toolfactory-hf/…``: its training layout), ``otherwise`` for the rest (ReAct in dialogues, native
    tool calls for BFCL's single turn)."""
    if setting != "auto":
        return setting
    return "json" if embedded else "react" if model.startswith("toolfactory-hf/") else otherwise


async def gated(gate: asyncio.Semaphore, work: Awaitable[T]) -> T:
    """Await ``work`` holding one of ``gate``'s places (caps coroutines in flight on the LLM loop)."""
    async with gate:
        return await work


async def unless_spent(client: LLMClient, make: Callable[[], Awaitable[T]]) -> T | None:
    """``await make()`` unless the run's spend cap is reached (then None: the work is not started)."""
    if client.budget.exhausted:
        return None
    return await make()


def cut_short(steps: Sequence[Step]) -> bool:
    """Whether an LLM call of this dialogue failed after its retries (an outage, a timeout, a 429, the
    spend cap). Such work is not landed as a result: the next run redoes it, and the ledger's cache
    answers the calls that had succeeded."""
    return any(s.error == "llm_error" for s in steps)


def retry_reason(client: LLMClient) -> str:
    """Why work was left for the next run: the spend cap, or LLM calls that failed after retries."""
    return "stopped_by_spend_cap" if client.budget.exhausted else "retryable_llm_error"


def flow_settings(settings: dict[str, Any] | None) -> Settings:
    """A flow's ``settings`` parameter as Settings: the dict a caller passed (what the Prefect UI shows
    as the run's parameters), or, when None (a deployment's run), the file and environment where it runs."""
    return Settings().with_overrides(**settings) if settings is not None else load_settings()


def open_warehouse(settings: Settings) -> Warehouse:
    """The warehouse of these settings, migrated, taking turns with other processes."""
    return Warehouse.open(settings.warehouse_path, wait_s=settings.warehouse_wait_s,
                          replica_interval_s=settings.warehouse_replica_interval_s, memory_limit=settings.warehouse_memory_limit)


def _client(settings: Settings, models: dict[str, str] | None, ledger: Callable[[LLMCall], None],
            cache: Callable[[str], LLMCall | None] | None, limit_usd: float | None) -> LLMClient:
    """The LLM client of these settings. litellm is imported here, not with this module: commands that make
    no LLM call (catalog import, sql, status, export) start ~2.8 s sooner."""
    config = load_backend_config(settings.backends_file)  # a broken backends file is named before the import
    from tasks.llm.backend import LLMClient
    from tasks.llm.engines import configure_local_engine

    configure_local_engine(settings.local_model_path, settings.local_n_ctx, settings.local_n_threads, settings.seed,
                           settings.local_runtime)
    for role, model in (models or {}).items():
        config = config.with_model(role, model)
    return LLMClient(
        config,
        max_concurrent=settings.max_concurrent_llm_calls,
        timeout_s=settings.llm_timeout_s,
        num_retries=settings.llm_num_retries,
        max_continuations=settings.llm_max_continuations,
        ledger=ledger,
        cache=cache,
        budget=SpendCap(limit_usd),
        transport=settings.llm_transport,
    )


@contextmanager
def llm_session(settings: Settings, warehouse: Warehouse, models: dict[str, str] | None = None) -> Iterator[tuple[LLMClient, RunLedger]]:
    """The LLM client for a run (backends from settings, ledger and cache in the warehouse) and its
    ledger; on exit every call is written and the client's loop stopped. ``models``: role → model
    group or litellm model string, on top of the backends file (the model under test)."""
    ledger = RunLedger(warehouse, max_delay_s=settings.warehouse_land_interval_s)
    client = _client(settings, models, ledger, ledger.lookup, settings.max_cost_usd)
    ledger.budget = client.budget
    try:
        with tuned_collector(settings.gc_threshold):
            yield client, ledger
    finally:
        client.close()
        ledger.close()


@contextmanager
def worker_llm_session(settings: Settings, limit_usd: float | None) -> Iterator[tuple[LLMClient, list[LLMCall]]]:
    """An LLM client for a task on a Dask or Ray worker, away from the warehouse: its calls are kept
    in the returned list (the flow lands them), no cache is consulted, and ``limit_usd`` (what is left
    of the run's spend cap; None: no cap) caps its spend."""
    calls: list[LLMCall] = []
    client = _client(settings, None, calls.append, None, limit_usd)
    try:
        with tuned_collector(settings.gc_threshold):
            yield client, calls
    finally:
        client.close()
