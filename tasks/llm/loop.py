"""The process's one event loop for LLM calls (no litellm here; ``tasks.llm.backend`` uses it)."""

from __future__ import annotations

import asyncio
import threading

_LOOP: asyncio.AbstractEventLoop | None = None
_LOOP_LOCK = threading.Lock()


def llm_loop() -> asyncio.AbstractEventLoop:
    """The process's one event loop for LLM calls, running in a daemon thread from first use.
    One loop for every client keeps litellm's per-loop HTTP clients and logging worker in one place."""
    global _LOOP
    with _LOOP_LOCK:
        if _LOOP is None:
            _LOOP = asyncio.new_event_loop()
            threading.Thread(target=_LOOP.run_forever, name="llm-loop", daemon=True).start()
        return _LOOP


def running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
