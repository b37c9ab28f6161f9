"""Requests- and tokens-per-minute limits per model group, enforced by the client itself (litellm's
own limits are loose under concurrency).

A sliding 60-second window per group: ``await acquire(tokens)`` waits until one more request and
``tokens`` more tokens fit in the last minute, then records them. It lives on the LLM client's
event loop (every call goes through that one loop), so it needs no lock. Limits come from the
deployments' ``rpm`` / ``tpm`` in the model list (a group's limit is the sum over its
deployments; a deployment without one leaves the group unlimited on that axis).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

WINDOW_S = 60.0


class RateLimiter:
    def __init__(self, rpm: float | None = None, tpm: float | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.rpm = rpm
        self.tpm = tpm
        self.clock = clock
        self.sleep = sleep
        self._events: deque[tuple[float, int]] = deque()
        self._tokens = 0
        self.waited_s = 0.0

    def _expire(self, now: float) -> None:
        while self._events and self._events[0][0] <= now - WINDOW_S:
            _, tokens = self._events.popleft()
            self._tokens -= tokens

    def _wait_needed(self, now: float, tokens: int) -> float:
        self._expire(now)
        waits = [0.0]
        if self.rpm is not None and len(self._events) + 1 > self.rpm and self._events:
            waits.append(self._events[0][0] + WINDOW_S - now)
        if self.tpm is not None and self._tokens + tokens > self.tpm and self._events:
            # wait until enough of the oldest requests have left the window
            freed, needed = 0, self._tokens + tokens - self.tpm
            for at, t in self._events:
                freed += t
                if freed >= needed:
                    waits.append(at + WINDOW_S - now)
                    break
        return max(waits)

    async def acquire(self, tokens: int = 0) -> float:
        """Wait until the request fits; returns the seconds waited."""
        tokens = max(0, int(tokens))
        if self.tpm is not None:
            tokens = min(tokens, int(self.tpm))  # one request larger than the whole budget still goes, alone
        waited = 0.0
        while True:
            now = self.clock()
            wait = self._wait_needed(now, tokens)
            if wait <= 0:
                self._events.append((now, tokens))
                self._tokens += tokens
                self.waited_s += waited
                return waited
            await self.sleep(min(wait, 1.0))
            waited += min(wait, 1.0)


def group_limits(model_list: list[dict[str, Any]]) -> dict[str, tuple[float | None, float | None]]:
    """(rpm, tpm) per model group from the deployments' litellm_params."""
    out: dict[str, tuple[float | None, float | None]] = {}
    groups: dict[str, list[dict[str, Any]]] = {}
    for d in model_list:
        groups.setdefault(d["model_name"], []).append(d.get("litellm_params") or {})
    for name, params in groups.items():
        out[name] = (_total(params, "rpm"), _total(params, "tpm"))
    return out


def _total(params: list[dict[str, Any]], key: str) -> float | None:
    values = [p.get(key) for p in params]
    return None if any(v is None for v in values) else float(sum(values))
