"""A scripted LLM for tests, registered as the litellm provider ``toolfactory-fake``.

Replies are queued per role (the model name after ``toolfactory-fake/``) or computed from the request
by a responder function; every call is recorded in ``calls``. A reply is a string, a JSON-able
dict/list (sent as JSON text), a ``FakeReply`` (to set ``finish_reason``, e.g. ``"length"``), or a
``FakeError`` (raised as an HTTP-style error: 429 with ``retry_after``, 500, 408 timeout …).

Use ``with FakeLLM() as fake:`` (or ``fake.install()``) to make it the active fake.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_ACTIVE: FakeLLM | None = None
_ACTIVE_LOCK = threading.Lock()


@dataclass
class FakeReply:
    """A scripted reply. ``tool_calls``: native function calls, each ``{"name", "arguments"}``
    (arguments a dict or the raw text the model would send) and optionally ``"id"``. ``text`` None: the
    message's content is null (the fake server sends it so); ``reasoning``: the reply's
    ``reasoning_content`` (the fake server's replies only)."""

    text: str | None = ""
    finish_reason: str = "stop"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tool_calls: list[dict[str, Any]] | None = None
    reasoning: str | None = None


@dataclass
class FakeError(Exception):
    status: int = 500
    message: str = "fake server error"
    retry_after: float | None = None

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"


@dataclass
class FakeRequest:
    """What the fake was asked: role, messages, and the sampling / structured-output params."""

    role: str
    messages: list[dict[str, Any]]
    json_schema: dict[str, Any] | None
    max_tokens: int | None
    temperature: float | None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def last_user(self) -> str:
        for m in reversed(self.messages):
            if m.get("role") == "user":
                return str(m.get("content") or "")
        return ""


Responder = Callable[[FakeRequest], Any]


class FakeLLM:
    """Scripted replies per role; records every request in ``calls`` (thread-safe)."""

    def __init__(self, cost_per_call: float = 0.0) -> None:
        self.cost_per_call = cost_per_call  # the USD each reply reports (to test spend caps)
        self.calls: list[FakeRequest] = []
        self._queues: dict[str, deque] = defaultdict(deque)
        self._responders: dict[str, Responder] = {}
        self._lock = threading.Lock()

    # scripting -------------------------------------------------------------------------------
    def queue(self, role: str, *replies: Any) -> FakeLLM:
        """Append replies for ``role``; they are used in order, before any responder."""
        with self._lock:
            self._queues[role].extend(replies)
        return self

    def respond(self, role: str, fn: Responder) -> FakeLLM:
        """Compute replies for ``role`` from the request once its queue is empty."""
        self._responders[role] = fn
        return self

    def calls_for(self, role: str) -> list[FakeRequest]:
        return [c for c in self.calls if c.role == role]

    # activation ------------------------------------------------------------------------------
    def install(self) -> FakeLLM:
        global _ACTIVE
        with _ACTIVE_LOCK:
            _ACTIVE = self
        return self

    def uninstall(self) -> None:
        global _ACTIVE
        with _ACTIVE_LOCK:
            if _ACTIVE is self:
                _ACTIVE = None

    def __enter__(self) -> FakeLLM:
        return self.install()

    def __exit__(self, *exc: Any) -> None:
        self.uninstall()

    # serving ---------------------------------------------------------------------------------
    def handle(self, request: FakeRequest) -> FakeReply:
        """Record the request and return its reply; raise FakeError for scripted errors."""
        with self._lock:
            self.calls.append(request)
            queue = self._queues.get(request.role)
            reply = queue.popleft() if queue else None
        if reply is None:
            responder = self._responders.get(request.role)
            if responder is None:
                raise FakeError(500, f"fake: no reply scripted for role {request.role!r}")
            reply = responder(request)
        return as_reply(reply)


def as_reply(reply: Any) -> FakeReply:
    """A scripted reply as a FakeReply: text, a JSON-able dict/list, or a FakeReply; an exception
    (a FakeError, say) is raised."""
    if isinstance(reply, BaseException):
        raise reply
    if isinstance(reply, FakeReply):
        return reply
    if isinstance(reply, (dict, list)):
        return FakeReply(json.dumps(reply))
    return FakeReply(str(reply))


def active() -> FakeLLM:
    """The installed fake; a FakeError(500) when none is installed."""
    if _ACTIVE is None:
        raise FakeError(500, "fake: no FakeLLM installed (use `with FakeLLM():`)")
    return _ACTIVE


# serving through litellm ---------------------------------------------------------------------

FAKE_PROVIDER = "toolfactory-fake"


def _litellm_error(err: FakeError, model: str) -> Exception:
    """A scripted error as the litellm exception a real provider's would become (429 keeps Retry-After)."""
    import httpx
    import litellm

    kw = {"message": err.message, "model": model, "llm_provider": FAKE_PROVIDER}
    if err.status == 429:
        headers = {"retry-after": str(err.retry_after)} if err.retry_after is not None else {}
        resp = httpx.Response(429, headers=headers, request=httpx.Request("POST", "http://fake.invalid"))
        return litellm.RateLimitError(response=resp, **kw)
    kinds = {408: litellm.Timeout, 504: litellm.Timeout, 400: litellm.BadRequestError, 401: litellm.AuthenticationError,
             503: litellm.ServiceUnavailableError}
    return kinds.get(err.status, litellm.InternalServerError)(**kw)


def _handler() -> Any:
    """The litellm custom provider ``toolfactory-fake``: replies from the installed FakeLLM."""
    from litellm import CustomLLM

    from tasks.llm.engines import model_response, schema_of

    class FakeHandler(CustomLLM):
        def completion(self, model: str, messages: list, *args: Any, optional_params: dict, **kwargs: Any) -> Any:
            request = FakeRequest(role=model, messages=messages, json_schema=schema_of(optional_params),
                                  max_tokens=optional_params.get("max_tokens"),
                                  temperature=optional_params.get("temperature"), params=dict(optional_params))
            try:
                reply = active().handle(request)
            except FakeError as err:
                raise _litellm_error(err, model) from None
            pt = reply.prompt_tokens if reply.prompt_tokens is not None else sum(len(str(m.get("content", ""))) // 4 for m in messages)
            ct = reply.completion_tokens if reply.completion_tokens is not None else max(1, len(reply.text or "") // 4)
            response = model_response(f"{FAKE_PROVIDER}/{model}", reply.text or "", reply.finish_reason, pt, ct, reply.tool_calls)
            response._hidden_params = {**(getattr(response, "_hidden_params", None) or {}), "fake_cost_usd": active().cost_per_call}
            return response

        async def acompletion(self, *args: Any, **kwargs: Any) -> Any:  # scripted replies are instant
            return self.completion(*args, **kwargs)

    return FakeHandler()


def _cost(response: Any) -> float:
    return float((getattr(response, "_hidden_params", None) or {}).get("fake_cost_usd") or 0.0)


def register() -> None:
    """Make ``toolfactory-fake/<role>`` a litellm provider and ``fake`` a built-in backends config."""
    from importlib import resources

    from tasks.llm.config import register_builtin
    from tasks.llm.engines import register_provider

    register_provider(FAKE_PROVIDER, _handler(), cost=_cost)
    register_builtin("fake", resources.files("toolfactory.testing").joinpath("fake.yaml").read_text("utf-8"))


register()
