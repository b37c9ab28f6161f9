"""Every request the client sends, recorded; a repeated request answered from the record.

``CallLedger(sink, cache)``: ``sink`` receives one ``LLMCall`` per request (the warehouse's ``llm_calls``);
``cache`` looks a request hash up among earlier ``ok`` calls. Either may be None.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable

from schemas.records import LLMCall
from tasks.llm.replies import decode_tool_calls
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
        """An earlier ok reply to the same request (free, marked ``cached``), or None."""
        if self.cache is None:
            return None
        hit = self.cache(request_hash)
        if hit is None or hit.status != "ok" or hit.response_text is None:
            return None
        return LLMResult(role=role, text=hit.response_text, model=hit.model, finish_reason=hit.finish_reason,
                         prompt_tokens=0, completion_tokens=0, cost_usd=0.0, latency_s=0.0, cached=True,
                         tool_calls=decode_tool_calls(hit.tool_calls))

    def record(self, request_hash: str, result: LLMResult, prompt_version: str, subject_id: str) -> None:
        """One row for a request that was sent (or refused by the spend cap)."""
        if self.sink is None:
            return
        self.sink(LLMCall(
            call_id=new_call_id(), request_hash=request_hash, role=result.role, model=result.model,
            prompt_version=prompt_version, subject_id=subject_id, status="ok" if result.ok else "error",
            prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens,
            cost_usd=result.cost_usd, latency_s=round(result.latency_s, 6), finish_reason=result.finish_reason,
            response_text=result.text if result.ok else None, error=result.error,
            tool_calls=json.dumps(result.tool_calls) if result.tool_calls else None))
