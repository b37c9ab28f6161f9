"""What a call must wait for or be refused by before it is sent: the run's spend cap, the group's
rpm/tpm window, and the client's cap on calls in flight.

``async with policy.admit(group, messages, params) as refusal:`` — ``refusal`` is None when the call
may go (a slot is held until the block ends), else the spend-cap error text for its result.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tasks.llm.budget import SpendCap
from tasks.llm.limiter import RateLimiter, group_limits


class CallPolicy:
    """Per client: ``budget`` (shared by a run), rpm/tpm limiters per model group, ``max_concurrent`` slots."""

    def __init__(self, model_list: list[dict[str, Any]], max_concurrent: int, budget: SpendCap | None = None) -> None:
        self.budget = budget or SpendCap()
        self.max_concurrent = max_concurrent
        self.slots = asyncio.Semaphore(max_concurrent)  # bound to the LLM loop on first wait
        self.limiters = {group: RateLimiter(rpm, tpm) for group, (rpm, tpm) in group_limits(model_list).items()
                         if rpm is not None or tpm is not None}

    @asynccontextmanager
    async def admit(self, group: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> AsyncIterator[str | None]:
        """Wait for the group's window and a slot; yield None, or the spend-cap refusal (no wait)."""
        if self.budget.exhausted:
            yield self.budget.refuse()
            return
        limiter = self.limiters.get(group)
        if limiter is not None:  # the estimate is prompt characters / 4 + the reply budget
            await limiter.acquire(sum(len(str(m.get("content") or "")) for m in messages) // 4 + int(params.get("max_tokens") or 256))
        async with self.slots:
            yield None
