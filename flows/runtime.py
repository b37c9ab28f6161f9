"""Wiring shared by the flows: the warehouse, the LLM client with its ledger and cache, run counters."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from schemas.records import LLMCall
from tasks.llm.backend import LLMClient, configure_local_engine
from tasks.llm.config import load_backend_config
from toolfactory.settings import Settings
from warehouse import Warehouse


class RunLedger:
    """Lands every LLM call in the warehouse, counts this run's calls, and answers the client's
    cache lookups.

    Writes are group commits: a writer thread lands whatever calls are waiting as one batch, so a
    quiet run writes each call at once and a busy one writes hundreds per transaction, off the
    client's event loop. ``lookup`` consults the calls not yet written, then a set of the hashes the
    warehouse already answered (loaded once), and only on a hit reads the row back.
    """

    def __init__(self, warehouse: Warehouse):
        self.warehouse = warehouse
        self.calls = self.errors = self.prompt_tokens = self.completion_tokens = self.cost_unknown = 0
        self.cost_usd = 0.0
        self._known = warehouse.answered_request_hashes()
        self._pending: list[LLMCall] = []
        self._pending_ok: dict[str, LLMCall] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._writing = False
        self._failure: BaseException | None = None
        self._writer = threading.Thread(target=self._write_loop, name="ledger-writer", daemon=True)
        self._writer.start()

    def __call__(self, call: LLMCall) -> None:
        with self._cond:
            self._pending.append(call)
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
            self._cond.notify_all()

    def lookup(self, request_hash: str) -> LLMCall | None:
        """The answered call for this request, if this run or an earlier one made it."""
        with self._cond:
            hit = self._pending_ok.get(request_hash)
            if hit is not None:
                return hit
            if request_hash not in self._known:
                return None
        return self.warehouse.cached_call(request_hash)

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if not self._pending and self._closed:
                    return
                batch, self._pending = self._pending, []
                self._writing = True
            try:
                self.warehouse.land(batch)
            except BaseException as exc:  # kept, and raised by flush(): a lost ledger must not pass silently
                self._failure = exc
            with self._cond:
                for call in batch:
                    if call.status == "ok":
                        self._known.add(call.request_hash)
                        if self._pending_ok.get(call.request_hash) is call:
                            del self._pending_ok[call.request_hash]
                self._writing = False
                self._cond.notify_all()

    def flush(self) -> None:
        """Wait until every call recorded so far is in the warehouse."""
        with self._cond:
            while self._pending or self._writing:
                self._cond.wait()
        if self._failure is not None:
            raise RuntimeError(f"the LLM call ledger could not be written: {self._failure}") from self._failure

    def close(self) -> None:
        self.flush()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._writer.join(timeout=30)

    def summary(self) -> dict[str, float | int]:
        return {
            "llm_calls": self.calls, "llm_errors": self.errors, "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens, "cost_usd": round(self.cost_usd, 6),
            "calls_with_unknown_cost": self.cost_unknown,
        }


@contextmanager
def llm_session(settings: Settings, warehouse: Warehouse) -> Iterator[tuple[LLMClient, RunLedger]]:
    """The LLM client for a run (backends from settings, ledger and cache in the warehouse) and its
    ledger; on exit every call is written and the client's loop stopped."""
    configure_local_engine(settings.local_model_path, settings.local_n_ctx, settings.local_n_threads, settings.seed)
    ledger = RunLedger(warehouse)
    client = LLMClient(
        load_backend_config(settings.backends_file),
        max_concurrent=settings.max_concurrent_llm_calls,
        timeout_s=settings.llm_timeout_s,
        num_retries=settings.llm_num_retries,
        max_continuations=settings.llm_max_continuations,
        ledger=ledger,
        cache=ledger.lookup,
    )
    try:
        yield client, ledger
    finally:
        client.close()
        ledger.close()
