"""Reading litellm replies and errors without importing litellm: tool calls, retry waits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


def retry_wait(exc: Exception, attempt: int, minimum: float) -> float:
    """Seconds before the next try after litellm's ``exc`` (``backoff_wait`` of its Retry-After header)."""
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    return backoff_wait(headers.get("retry-after"), attempt, minimum)


def backoff_wait(retry_after: str | None, attempt: int, minimum: float) -> float:
    """Seconds before the next try: the server's Retry-After (seconds) when it sent one (capped at 60 s),
    else exponential backoff from 0.5 s (capped at 8 s); never under ``minimum``."""
    try:
        wait = float(retry_after)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        wait = min(8.0, 0.5 * 2**attempt)
    return max(minimum, min(60.0, wait))


def _part(value: Any, name: str) -> Any:
    """``value[name]`` of a reply's JSON, or the attribute of litellm's object for it."""
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def tool_calls_of(message: Any) -> list[dict[str, Any]]:
    """The reply's tool calls as [{"id", "name", "arguments"(text)}], from litellm's message object or
    the message's JSON (the fast transport)."""
    out = []
    for tc in _part(message, "tool_calls") or []:
        fn = _part(tc, "function")
        out.append({"id": str(_part(tc, "id") or ""), "name": str(_part(fn, "name") or ""),
                    "arguments": str(_part(fn, "arguments") or "")})
    return out


def reasoning_of(message: Any) -> str | None:
    """The reply's reasoning text (``reasoning_content``, as litellm and vLLM name it, or ``reasoning``), or None."""
    for name in ("reasoning_content", "reasoning"):
        value = _part(message, name)
        if isinstance(value, str):
            return value
    return None


async def with_retries(send: Callable[[], Awaitable[T]], retries: int, retryable: Callable[[Exception], bool],
                       wait: Callable[[Exception, int], float], sleep: Callable[[float], Awaitable[Any]]) -> T:
    """``await send()``, again after ``wait(exc, attempt)`` seconds while it raises a ``retryable`` error, at most
    ``retries`` more times; the last error is raised (both transports retry this way)."""
    for attempt in range(retries + 1):
        try:
            return await send()
        except Exception as exc:
            if not retryable(exc) or attempt >= retries:
                raise
            await sleep(wait(exc, attempt))
    raise AssertionError("unreachable")
