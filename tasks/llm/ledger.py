"""Every request the client sends, recorded; a repeated request answered from the record.

``CallLedger(sink, cache)``: ``sink`` receives one ``LLMCall`` per request (the warehouse's ``llm_calls``);
``cache`` looks a request hash up among earlier ``ok`` calls. Either may be None.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable

from schemas.records import LLMCall, ReplyToolCall
from tasks.llm.types import LLMResult

Sink = Callable[[LLMCall], None]
Cache = Callable[[str], "LLMCall | None"]

_IDS: tuple[int, random.Random] | None = None  # (pid, a generator seeded from the OS): this process's call IDs


def new_call_id() -> str:
    """A random 64-bit call ID, as ``uuid4().hex[:16]`` was, from a generator seeded once per process (anew in a
    forked child) instead of a system call for random bytes per call."""
    global _IDS
    if _IDS is None or _IDS[0] != os.getpid():
        _IDS = (os.getpid(), random.Random(os.urandom(16)))
    return f"{_IDS[1].getrandbits(64):016x}"


class CallLedger:
    def __init__(self, sink: Sink | None = None, cache: Cache | None = None) -> None:
        self.sink = sink
        self.cache = cache

    def replay(self, request_hash: str, role: str) -> LLMResult | None:
        """An earlier ok reply to the same request, or None: the recorded reply field by field (text, a null
        content, tool calls, reasoning, finish reason, model, usage, cost, latency), marked ``cached`` (it is
        not charged again)."""
        if self.cache is None:
            return None
        hit = self.cache(request_hash)
        if hit is None or hit.status != "ok":
            return None
        return replayed_result(hit, role)

    def record(self, request_hash: str, result: LLMResult, prompt_version: str, subject_id: str, served_by: str = "") -> None:
        """One row for a request that was sent (or refused by the spend cap)."""
        if self.sink is None:
            return
        self.sink(LLMCall(
            call_id=new_call_id(), request_hash=request_hash, role=result.role, model=result.model,
            prompt_version=prompt_version, subject_id=subject_id, status="ok" if result.ok else "error",
            prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens,
            cost_usd=result.cost_usd, latency_s=round(result.latency_s, 6), finish_reason=result.finish_reason,
            response_text=None if (not result.ok or result.content_null) else result.text, error=result.error,
            tool_calls=[ReplyToolCall(str(c.get("id", "")), str(c.get("name", "")), str(c.get("arguments", "")))
                        for c in result.tool_calls],
            reasoning_text=result.reasoning if result.ok else None, served_by=served_by))


def replayed_result(hit: LLMCall, role: str) -> LLMResult:
    """The ``LLMResult`` an ok ledger row stands for (what ``CallLedger.replay`` gives back)."""
    return LLMResult(role=role, text=hit.response_text or "", model=hit.model, finish_reason=hit.finish_reason,
                     prompt_tokens=hit.prompt_tokens, completion_tokens=hit.completion_tokens, cost_usd=hit.cost_usd,
                     latency_s=hit.latency_s, cached=True, reasoning=hit.reasoning_text,
                     content_null=hit.response_text is None,
                     tool_calls=[{"id": c.id, "name": c.name, "arguments": c.arguments} for c in hit.tool_calls])
