"""The process's one event loop for LLM calls, and how work gets onto it from any thread (no litellm
here; ``tasks.llm.backend`` uses it)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_LOOP: asyncio.AbstractEventLoop | None = None
_LOOP_LOCK = threading.Lock()


def llm_loop() -> asyncio.AbstractEventLoop:
    """The process's one event loop for LLM calls, running in a daemon thread from first use.
    One loop for every client keeps litellm's per-loop HTTP clients and logging worker in one place."""
    global _LOOP
    with _LOOP_LOCK:
        if _LOOP is None:
            # made in an empty contextvars context: the loop's own handles keep the context they were made in,
            # and the first caller may be a Prefect task whose context holds its parameters (an open warehouse)
            _LOOP = contextvars.Context().run(asyncio.new_event_loop)
            threading.Thread(target=_LOOP.run_forever, name="llm-loop", daemon=True).start()
        return _LOOP


def running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def submit(coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
    """Schedule ``coro`` on the LLM loop; its result (or exception) arrives in the future.

    It runs in a fresh ``contextvars`` context, not the caller's: a copy of a Prefect task's context
    would keep that task run (and its parameters, such as an open warehouse) alive for as long as
    anything started inside lives on the loop (litellm's logging worker: forever)."""
    out: concurrent.futures.Future[T] = concurrent.futures.Future()
    loop = llm_loop()

    def settle(task: asyncio.Task[T]) -> None:
        if task.cancelled():
            out.cancel()
        elif task.exception() is not None:
            out.set_exception(task.exception())  # type: ignore[arg-type]
        else:
            out.set_result(task.result())

    def start() -> None:
        if out.set_running_or_notify_cancel():
            loop.create_task(coro, context=contextvars.Context()).add_done_callback(settle)
        else:
            coro.close()

    loop.call_soon_threadsafe(start)
    return out


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the LLM loop and wait for it (from any thread but the loop's own)."""
    if running_loop() is llm_loop():
        coro.close()
        raise RuntimeError("a blocking LLM call was made on the LLM loop itself; await the coroutine instead")
    return submit(coro).result()
