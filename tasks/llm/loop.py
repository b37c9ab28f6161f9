"""The process's one event loop for LLM calls (no litellm here; ``tasks.llm.backend`` uses it)."""

from __future__ import annotations

import asyncio
import contextvars
import threading

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
