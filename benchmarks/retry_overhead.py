"""CPU per call of the LLM transport's retry wrapper on the path every call takes (success at the first
try): the hand-rolled loop in ``tasks.llm.transport`` against tenacity's ``AsyncRetrying`` with the same
policy. tenacity is not a dependency; this needs it installed (``pip install tenacity``).

    .venv/bin/python benchmarks/retry_overhead.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time


class Retryable(Exception):
    pass


async def answer() -> int:
    return 1


async def hand_rolled(retries: int) -> int:
    for attempt in range(retries + 1):
        try:
            return await answer()
        except Retryable:
            if attempt >= retries:
                raise
            await asyncio.sleep(0)
    raise AssertionError("unreachable")


async def with_tenacity(retries: int) -> int:
    from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_none

    async for attempt in AsyncRetrying(stop=stop_after_attempt(retries + 1), retry=retry_if_exception_type(Retryable),
                                       wait=wait_none(), reraise=True):
        with attempt:
            return await answer()
    raise AssertionError("unreachable")


async def per_call_us(fn, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        await fn(2)
    return (time.perf_counter() - started) / calls * 1e6


async def main(calls: int) -> dict[str, float]:
    rounds = [(await per_call_us(hand_rolled, calls), await per_call_us(with_tenacity, calls)) for _ in range(3)]
    hand, ten = min(r[0] for r in rounds), min(r[1] for r in rounds)
    return {"hand_rolled_us_per_call": round(hand, 2), "tenacity_us_per_call": round(ten, 2), "ratio": round(ten / hand, 1)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=20000)
    print(json.dumps(asyncio.run(main(ap.parse_args().calls))))
